"""Peewee models, one module per aggregate."""

from app.models.ai_model import AIModel
from app.models.assistant import Assistant, ChainPrompt, InputField
from app.models.audit import AuditEvent
from app.models.budget import Budget
from app.models.execution import Execution, ExecutionEvent, ExecutionMessage, PromptResult
from app.models.token import ApiToken
from app.models.user import Role, User, UserRole

# In dependency order: what `create_tables` and the migration check use.
ALL_MODELS = [
    User,
    Role,
    UserRole,
    AIModel,
    Assistant,
    InputField,
    ChainPrompt,
    Execution,
    PromptResult,
    ExecutionEvent,
    ExecutionMessage,
    AuditEvent,
    ApiToken,
    Budget,
]

__all__ = [
    "ALL_MODELS",
    "AIModel",
    "ApiToken",
    "Assistant",
    "AuditEvent",
    "Budget",
    "ChainPrompt",
    "Execution",
    "ExecutionEvent",
    "ExecutionMessage",
    "InputField",
    "PromptResult",
    "Role",
    "User",
    "UserRole",
]
