"""My runs (history grows here)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from app.blueprints.runs import bp
from app.models import Assistant, Execution
from app.security import login_required, signed_in_user

PAGE_SIZE = 50


@bp.get("/runs")
@login_required
def index() -> Any:
    runs = (
        Execution.select(Execution, Assistant)
        .join(Assistant)
        .where(Execution.user == signed_in_user())
        .order_by(Execution.id.desc())
        .limit(PAGE_SIZE)
    )
    return render_template("runs/index.html", runs=list(runs))
