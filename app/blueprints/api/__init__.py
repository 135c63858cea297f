"""JSON API v1 (/api/v1): bearer tokens, problem details, OpenAPI. No session cookie, no CSRF."""

from flask import Blueprint, g

bp = Blueprint("api", __name__, url_prefix="/api/v1")
ID = "int(min=1, max=2147483647)"  # ids beyond the integer column answer 404, not a DB error


@bp.before_request
def _ignore_session() -> None:
    g.user = (
        None  # the API authenticates by token only; a browser's session cookie counts for nothing
    )


@bp.after_request
def _no_store(response):  # type: ignore[no-untyped-def]
    response.headers.setdefault("Cache-Control", "no-store")
    return response


from app.blueprints.api import limits, problems  # noqa: E402

problems.install(bp)
limits.install(bp)

from app.blueprints.api import chat, interchange, routes, stream  # noqa: E402, F401
