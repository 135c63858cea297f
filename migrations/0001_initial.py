"""The initial schema: every table of DESIGN §2.

Frozen copies of the models as they were when this migration was written (never import app models
in a migration: they move on, this file must not). Python-side defaults are irrelevant here.
"""

from peewee import *

ROLES = ("administrator", "staff", "student")
ASSISTANT_STATUSES = ("draft", "pending_approval", "approved", "rejected", "disabled")
FIELD_TYPES = ("short_text", "long_text", "select", "multi_select", "file_upload")
RUN_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
EVENT_TYPES = (
    "execution-start",
    "prompt-start",
    "prompt-delta",
    "prompt-complete",
    "prompt-error",
    "variable-substitution",
    "execution-complete",
    "execution-error",
    "execution-cancelled",
    "chat-delta",
    "chat-complete",
)


def in_sql(column, values):
    return "%s IN (%s)" % (column, ", ".join("'%s'" % v for v in values))


def up(migrator, db):
    class AIModel(Model):
        name = CharField()
        model_id = CharField(unique=True)
        provider = CharField(max_length=64)
        is_active = BooleanField(default=True)
        max_tokens = IntegerField(null=True)
        api_base = CharField(null=True, max_length=1024)
        api_key_env = CharField(null=True, max_length=128)
        input_cost_per_1k = DecimalField(null=True, max_digits=14, decimal_places=8)
        output_cost_per_1k = DecimalField(null=True, max_digits=14, decimal_places=8)
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "ai_models"

    db.create_tables([AIModel])

    class User(Model):
        email = CharField(unique=True, max_length=320)
        name = CharField()
        password_hash = TextField(null=True)
        is_active = BooleanField(default=True)
        session_epoch = IntegerField(default=0)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "users"

    db.create_tables([User])

    class Assistant(Model):
        name = CharField()
        description = TextField(default="")
        status = CharField(
            max_length=32,
            default="draft",
            constraints=[Check(in_sql("status", ASSISTANT_STATUSES))],
        )
        image_path = CharField(null=True, max_length=1024)
        user = ForeignKeyField(User, on_delete="RESTRICT")
        rejection_reason = TextField(null=True)
        version = IntegerField(default=0)
        audience = JSONField()
        is_parallel = BooleanField(default=False)
        timeout_seconds = IntegerField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "assistant_architects"
            indexes = ((("status",), False), (("user",), False))

    db.create_tables([Assistant])

    class AuditEvent(Model):
        id = BigAutoField()
        at = DateTimeField(index=True)
        actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
        actor_email = CharField(null=True, max_length=320)
        action = CharField(index=True, max_length=64)
        target_type = CharField(null=True, max_length=64)
        target_id = CharField(null=True, max_length=64)
        summary = TextField(default="")
        details = JSONField(default=dict)
        ip = CharField(null=True, max_length=64)
        request_id = CharField(null=True, max_length=64)

        class Meta:
            database = db
            table_name = "audit_events"
            indexes = ((("target_type", "target_id"), False),)

    db.create_tables([AuditEvent])

    class ChainPrompt(Model):
        assistant = ForeignKeyField(
            Assistant, column_name="assistant_architect_id", on_delete="CASCADE"
        )
        name = CharField()
        content = TextField(default="")
        system_context = TextField(null=True)
        model = ForeignKeyField(AIModel, null=True, on_delete="SET NULL")
        position = IntegerField(default=0, constraints=[Check("position >= 0")])
        sort_order = IntegerField(default=0)
        parallel_group = IntegerField(null=True)
        input_mapping = JSONField(default=dict)
        timeout_seconds = IntegerField(null=True)
        temperature = FloatField(null=True)
        max_tokens = IntegerField(null=True)
        fallback_model = ForeignKeyField(AIModel, null=True, on_delete="SET NULL")
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "chain_prompts"
            indexes = ((("assistant", "position", "sort_order"), False),)

    db.create_tables([ChainPrompt])

    class Execution(Model):
        assistant = ForeignKeyField(
            Assistant, column_name="assistant_architect_id", on_delete="CASCADE"
        )
        user = ForeignKeyField(User, on_delete="RESTRICT")
        status = CharField(
            max_length=16, default="pending", constraints=[Check(in_sql("status", RUN_STATUSES))]
        )
        input_data = JSONField(default=dict)
        definition = JSONField()
        version = IntegerField(default=0)
        error_message = TextField(null=True)
        started_at = DateTimeField()
        claimed_at = DateTimeField(null=True)
        completed_at = DateTimeField(null=True)
        lease_owner = CharField(null=True, max_length=128)
        lease_expires_at = DateTimeField(null=True)
        attempt = IntegerField(default=0)
        cancel_requested_at = DateTimeField(null=True)
        retry_of = ForeignKeyField("self", null=True, on_delete="SET NULL")
        retry_from_step = IntegerField(null=True)
        tokens_in = IntegerField(default=0)
        tokens_out = IntegerField(default=0)
        cost = DecimalField(null=True, max_digits=14, decimal_places=8)
        has_unpriced = BooleanField(default=False)

        class Meta:
            database = db
            table_name = "tool_executions"
            indexes = (
                (("status", "id"), False),
                (("user", "started_at"), False),
                (("assistant", "started_at"), False),
                (("status", "lease_expires_at"), False),
            )

    db.create_tables([Execution])

    class ExecutionEvent(Model):
        id = BigAutoField()
        execution = ForeignKeyField(Execution, on_delete="CASCADE")
        seq = IntegerField()
        event_type = CharField(
            max_length=32, constraints=[Check(in_sql("event_type", EVENT_TYPES))]
        )
        event_data = JSONField(default=dict)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "assistant_architect_events"
            indexes = ((("execution", "seq"), True),)

    db.create_tables([ExecutionEvent])

    class ExecutionMessage(Model):
        execution = ForeignKeyField(Execution, on_delete="CASCADE")
        role = CharField(max_length=16, constraints=[Check("role IN ('user', 'assistant')")])
        content = TextField(default="")
        model = ForeignKeyField(AIModel, null=True, on_delete="SET NULL")
        status = CharField(
            max_length=16, default="completed", constraints=[Check(in_sql("status", RUN_STATUSES))]
        )
        tokens_in = IntegerField(null=True)
        tokens_out = IntegerField(null=True)
        cost = DecimalField(null=True, max_digits=14, decimal_places=8)
        error_message = TextField(null=True)
        created_at = DateTimeField()
        completed_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "execution_messages"
            indexes = ((("execution", "created_at"), False),)

    db.create_tables([ExecutionMessage])

    class InputField(Model):
        assistant = ForeignKeyField(
            Assistant, column_name="assistant_architect_id", on_delete="CASCADE"
        )
        name = CharField(max_length=24, constraints=[Check("length(name) BETWEEN 1 AND 24")])
        label = CharField()
        field_type = CharField(
            max_length=16, constraints=[Check(in_sql("field_type", FIELD_TYPES))]
        )
        position = IntegerField(default=0)
        options = JSONField(default=dict)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "tool_input_fields"
            indexes = ((("assistant", "name"), True),)

    db.create_tables([InputField])

    class PromptResult(Model):
        execution = ForeignKeyField(Execution, on_delete="CASCADE")
        prompt = ForeignKeyField(ChainPrompt, null=True, on_delete="SET NULL")
        step = IntegerField()
        prompt_name = CharField()
        status = CharField(
            max_length=16, default="running", constraints=[Check(in_sql("status", RUN_STATUSES))]
        )
        input_data = JSONField(default=dict)
        output_data = TextField(null=True)
        error_message = TextField(null=True)
        model = ForeignKeyField(AIModel, null=True, on_delete="SET NULL")
        used_fallback = BooleanField(default=False)
        reused_from = ForeignKeyField("self", null=True, on_delete="SET NULL")
        attempts = IntegerField(default=0)
        started_at = DateTimeField()
        completed_at = DateTimeField(null=True)
        execution_time_ms = IntegerField(null=True)
        tokens_in = IntegerField(null=True)
        tokens_out = IntegerField(null=True)
        cost = DecimalField(null=True, max_digits=14, decimal_places=8)
        user_feedback = CharField(
            null=True, max_length=8, constraints=[Check("user_feedback IN ('up', 'down')")]
        )

        class Meta:
            database = db
            table_name = "prompt_results"
            indexes = ((("execution", "step"), True), (("started_at",), False))

    db.create_tables([PromptResult])

    class Role(Model):
        name = CharField(unique=True, max_length=32, constraints=[Check(in_sql("name", ROLES))])

        class Meta:
            database = db
            table_name = "roles"

    db.create_tables([Role])

    class UserRole(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        role = ForeignKeyField(Role, on_delete="CASCADE")
        source = CharField(
            max_length=16, default="manual", constraints=[Check("source IN ('manual', 'sso')")]
        )
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "user_roles"
            indexes = ((("user", "role"), True),)

    db.create_tables([UserRole])

    # Roles are fixed data: every database has exactly these three.
    Role.insert_many([{"name": r} for r in ROLES]).execute()


def down(migrator, db):
    migrator.migrate(migrator.drop_table("user_roles"))
    migrator.migrate(migrator.drop_table("roles"))
    migrator.migrate(migrator.drop_table("prompt_results"))
    migrator.migrate(migrator.drop_table("tool_input_fields"))
    migrator.migrate(migrator.drop_table("execution_messages"))
    migrator.migrate(migrator.drop_table("assistant_architect_events"))
    migrator.migrate(migrator.drop_table("tool_executions"))
    migrator.migrate(migrator.drop_table("chain_prompts"))
    migrator.migrate(migrator.drop_table("audit_events"))
    migrator.migrate(migrator.drop_table("assistant_architects"))
    migrator.migrate(migrator.drop_table("users"))
    migrator.migrate(migrator.drop_table("ai_models"))
