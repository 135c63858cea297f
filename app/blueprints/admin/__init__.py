from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.blueprints.admin import (  # noqa: E402, F401
    approvals,
    audit,
    budgets,
    interchange,
    models,
    reset_links,
    routes,
    settings,
    usage,
)
