"""Assistant Architect: build and run AI assistants made of a form and a chain of prompts."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from app.config import ROOT, Config, config_for_env


class BoundedIntConverter(IntegerConverter):
    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: type[Config] | dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(config_for_env())
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    Config.validate(app.config)
    if app.config.get("TESTING"):
        from app.models.user import use_fast_password_hashing

        use_fast_password_hashing()
    from app import observability

    observability.init_app(app)

    from app import cli, db, errors, rate_limits, request_limits, security, templating
    from app.blueprints import admin, api, auth, builder, catalog, ops, runs

    # Ids in URLs fit a database integer: a larger one is a 404, not a driver error.
    app.url_map.converters["int"] = BoundedIntConverter
    db.init_app(app)
    request_limits.init_app(app)  # after the connection, before CSRF reads the form
    security.init_app(app)
    rate_limits.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    for blueprint in (ops.bp, auth.bp, catalog.bp, builder.bp, runs.bp, admin.bp, api.bp):
        app.register_blueprint(blueprint)
    security.csrf.exempt(api.bp)  # bearer tokens only: no cookie session, so no CSRF to forge

    if app.config["PROXY_COUNT"]:
        # Behind the load balancer: trust its X-Forwarded-For/Proto/Host, and only its.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    security.announce_setup_token(app)
    return app
