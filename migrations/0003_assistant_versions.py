"""Assistant versions (issue 8): each submission for approval freezes a version; the decision,
who made it and why are kept with it.

A frozen copy of the model as it was when this migration was written (never import app models).
"""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = "users"

    class Assistant(Model):
        class Meta:
            database = db
            table_name = "assistant_architects"

    class AssistantVersion(Model):
        assistant = ForeignKeyField(
            Assistant, column_name="assistant_architect_id", on_delete="CASCADE"
        )
        number = IntegerField()
        definition = JSONField()
        submitted_by = ForeignKeyField(
            User, null=True, column_name="submitted_by_id", on_delete="SET NULL", backref="+"
        )
        submitted_at = DateTimeField()
        decision = CharField(
            max_length=16, null=True, constraints=[Check("decision IN ('approved', 'rejected')")]
        )
        decided_by = ForeignKeyField(
            User, null=True, column_name="decided_by_id", on_delete="SET NULL", backref="+"
        )
        decided_at = DateTimeField(null=True)
        reason = TextField(null=True)
        owner_notified_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "assistant_versions"
            indexes = ((("assistant", "number"), True), (("decision", "owner_notified_at"), False))

    db.create_tables([AssistantVersion])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("assistant_versions"))
