"""Personal API tokens (issue 11): hashed secrets with scopes, expiry, last use and revocation.

A frozen copy of the model as it was when this migration was written (never import app models).
"""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = "users"

    class ApiToken(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        name = CharField(max_length=100)
        token_hash = CharField(max_length=64, unique=True)
        prefix = CharField(max_length=8)
        scopes = JSONField(default=list)
        created_at = DateTimeField()
        expires_at = DateTimeField(null=True)
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "api_tokens"

    db.create_tables([ApiToken])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("api_tokens"))
