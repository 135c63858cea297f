from flask import Blueprint

bp = Blueprint("builder", __name__)

from app.blueprints.builder import fields, lifecycle, prompts, routes  # noqa: E402, F401
