"""One synth for the whole infra lane: it takes 10–20 s and about 1 GB, so tests share it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(INFRA))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def cdk_context() -> dict:
    """cdk.json's context (the feature flags the CLI would pass), for the Dev environment, with
    single sign-on configured (one synth serves every test: SSO adds to the defaults)."""
    return {
        **json.loads((INFRA / "cdk.json").read_text())["context"],
        "env": "Dev",
        "oidcIssuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        "oidcClientId": "4h1sclientid",
        "oidcGroupsClaim": "cognito:groups",
        "oidcRoleMap": "teachers=staff,admins=administrator",
    }


@pytest.fixture(scope="session")
def assembly(cdk_context: dict, tmp_path_factory: pytest.TempPathFactory):
    import aws_cdk as cdk
    from stacks.assembly import build_app

    app = build_app(cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")), context=cdk_context))
    return app.synth()
