"""Single sign-on identities and password reset links (issue 16).

`user_roles.source` (manual | sso) exists since 0001, so nothing changes there.
A frozen copy of the models as they were when this migration was written (never import app models).
"""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = "users"

    class UserIdentity(Model):
        user = ForeignKeyField(User, column_name="user_id", on_delete="CASCADE")
        issuer = CharField(max_length=255)
        subject = CharField(max_length=255)
        email = CharField(max_length=320, null=True)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "user_identities"
            indexes = ((("issuer", "subject"), True),)

    class PasswordResetToken(Model):
        user = ForeignKeyField(User, column_name="user_id", on_delete="CASCADE")
        token_hash = CharField(max_length=64, unique=True)
        created_by = ForeignKeyField(
            User, null=True, column_name="created_by_id", on_delete="SET NULL", backref="+"
        )
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "password_reset_tokens"

    db.create_tables([UserIdentity, PasswordResetToken])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table("password_reset_tokens"), migrator.drop_table("user_identities")
    )
