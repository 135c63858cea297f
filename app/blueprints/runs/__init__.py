from flask import Blueprint

bp = Blueprint("runs", __name__)

from app.blueprints.runs import chat, history, routes, stream  # noqa: E402, F401
