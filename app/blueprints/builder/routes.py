"""My assistants (the builder grows here)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from app.blueprints.builder import bp
from app.models import Assistant
from app.security import roles_required, signed_in_user


@bp.get("/assistants")
@roles_required("administrator", "staff")
def index() -> Any:
    user = signed_in_user()
    assistants = Assistant.editable_by(user).order_by(Assistant.updated_at.desc())
    return render_template("builder/index.html", assistants=list(assistants))
