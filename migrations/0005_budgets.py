"""Budgets (issue 18): runs per person per day, runs at once, spending per assistant per month.

A frozen copy of the model as it was when this migration was written (never import app models).
"""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = "users"

    class Budget(Model):
        scope = CharField(
            max_length=32,
            unique=True,
            constraints=[Check("scope IN ('default', 'administrator', 'staff', 'student')")],
        )
        runs_per_day = IntegerField(null=True)
        concurrent_runs = IntegerField(null=True)
        assistant_cost_per_month = DecimalField(
            max_digits=14, decimal_places=2, auto_round=True, null=True
        )
        updated_at = DateTimeField()
        updated_by = ForeignKeyField(
            User, null=True, column_name="updated_by_id", on_delete="SET NULL"
        )

        class Meta:
            database = db
            table_name = "budgets"

    db.create_tables([Budget])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("budgets"))
