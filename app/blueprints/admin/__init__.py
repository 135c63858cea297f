from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.blueprints.admin import models, routes, usage  # noqa: E402, F401
