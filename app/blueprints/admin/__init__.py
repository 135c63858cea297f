from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.blueprints.admin import budgets, models, routes  # noqa: E402, F401
