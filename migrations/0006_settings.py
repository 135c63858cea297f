"""Settings an administrator changes at run time (issue 17): `app_settings`, key → JSON value.

The first is how long runs are kept (`runs.retention_days`); the sweeper finds old runs by
`tool_executions.completed_at`, hence its index. Frozen copies of the models (never import app
models).
"""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = "users"

    class AppSetting(Model):
        key = CharField(max_length=64, unique=True)
        value = JSONField(null=True)
        updated_at = DateTimeField()
        updated_by = ForeignKeyField(
            User, null=True, column_name="updated_by_id", on_delete="SET NULL"
        )

        class Meta:
            database = db
            table_name = "app_settings"

    db.create_tables([AppSetting])
    migrator.migrate(migrator.add_index("tool_executions", ("completed_at",), False))


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("tool_executions", "tool_executions_completed_at"),
        migrator.drop_table("app_settings"),
    )
