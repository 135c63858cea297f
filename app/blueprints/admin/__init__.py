from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.blueprints.admin import interchange, models, routes  # noqa: E402, F401
