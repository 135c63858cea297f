"""The whole app for one environment: `build_app()` is what app.py synthesizes and tests assert."""

from __future__ import annotations

import aws_cdk as cdk

from stacks.database import DatabaseStack
from stacks.frontend import FrontendStack
from stacks.network import NetworkStack
from stacks.settings import settings_for


def build_app(app: cdk.App | None = None) -> cdk.App:
    app = app or cdk.App()
    settings = settings_for(
        app.node.try_get_context("env") or "Dev", app.node.try_get_context("providerKeys")
    )
    # Environment-agnostic stacks: the account and region come from the deploying credentials,
    # and synth needs no AWS lookups (it runs offline in the tests).
    network = NetworkStack(app, settings.stack_name("Network"), settings=settings)
    database = DatabaseStack(
        app, settings.stack_name("Database"), settings=settings, vpc=network.vpc
    )
    FrontendStack(
        app,
        settings.stack_name("Frontend"),
        settings=settings,
        vpc=network.vpc,
        database=database.cluster,
        database_secret=database.secret,
    )
    cdk.Tags.of(app).add("project", "assistant-architect")
    cdk.Tags.of(app).add("environment", settings.env_name)
    return app
