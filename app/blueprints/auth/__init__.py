from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.blueprints.auth import oidc, passwords, routes, tokens  # noqa: E402, F401
