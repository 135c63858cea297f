from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.blueprints.admin import audit, models, routes, settings  # noqa: E402, F401
