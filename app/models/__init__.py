"""Peewee models, one module per aggregate."""

from app.models.ai_model import AIModel
from app.models.assistant import Assistant, ChainPrompt, InputField
from app.models.audit import AuditEvent
from app.models.budget import Budget
from app.models.execution import Execution, ExecutionEvent, ExecutionMessage, PromptResult
from app.models.identity import PasswordResetToken, UserIdentity
from app.models.setting import AppSetting
from app.models.token import ApiToken
from app.models.user import Role, User, UserRole
from app.models.version import AssistantVersion

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
    AssistantVersion,
    UserIdentity,
    PasswordResetToken,
    AppSetting,
    Budget,
]

__all__ = [
    "ALL_MODELS",
    "AIModel",
    "ApiToken",
    "AppSetting",
    "Assistant",
    "AssistantVersion",
    "AuditEvent",
    "Budget",
    "ChainPrompt",
    "Execution",
    "ExecutionEvent",
    "ExecutionMessage",
    "InputField",
    "PasswordResetToken",
    "PromptResult",
    "Role",
    "User",
    "UserIdentity",
    "UserRole",
]
