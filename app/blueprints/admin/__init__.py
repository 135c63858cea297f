from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.blueprints.admin import approvals, models, reset_links, routes  # noqa: E402, F401
