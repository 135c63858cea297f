"""What differs between environments, in one place; names follow the original (`aistudio-dev-…`)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_logs as logs

# Provider keys the service receives, each its own Secrets Manager secret (`api_key_env` in
# ai_models names one of these variables). Ops set the values after the first deploy.
DEFAULT_PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")


@dataclass(frozen=True)
class Settings:
    env_name: str  # "Dev", "Prod": stack names
    nat_gateways: int
    db_min_acu: float
    db_max_acu: float
    db_readers: int
    backup_days: int
    log_retention: logs.RetentionDays
    min_tasks: int
    max_tasks: int
    task_cpu: int
    task_memory_mib: int
    demo_model: str
    provider_keys: tuple[str, ...] = DEFAULT_PROVIDER_KEYS

    @property
    def prefix(self) -> str:
        """Physical names: aistudio-dev-cluster, aistudio-dev-frontend, aistudio-dev-db."""
        return f"aistudio-{self.env_name.lower()}"

    def stack_name(self, part: str) -> str:
        return f"AIStudio-{part}Stack-{self.env_name}"


ENVIRONMENTS = {
    # Dev: one NAT gateway and a small database; max 4 ACU gives max_connections 823.
    "Dev": Settings(
        env_name="Dev",
        nat_gateways=1,
        db_min_acu=0.5,
        db_max_acu=4,
        db_readers=0,
        backup_days=7,
        log_retention=logs.RetentionDays.ONE_MONTH,
        min_tasks=1,
        max_tasks=4,
        task_cpu=1024,
        task_memory_mib=2048,
        demo_model="on",
    ),
    # Prod: a NAT gateway and a database instance per zone; min 1 ACU lifts the 2,000-connection
    # cap that a 0.5 ACU minimum imposes, max 16 ACU gives max_connections 3,360.
    "Prod": Settings(
        env_name="Prod",
        nat_gateways=2,
        db_min_acu=1,
        db_max_acu=16,
        db_readers=1,
        backup_days=30,
        log_retention=logs.RetentionDays.SIX_MONTHS,
        min_tasks=2,
        max_tasks=10,
        task_cpu=1024,
        task_memory_mib=2048,
        demo_model="off",
    ),
}


def settings_for(env_name: str, provider_keys: str | None = None) -> Settings:
    if env_name not in ENVIRONMENTS:
        raise ValueError(f"env must be one of {', '.join(ENVIRONMENTS)}, not {env_name!r}")
    settings = ENVIRONMENTS[env_name]
    if provider_keys:
        keys = tuple(k.strip() for k in provider_keys.split(",") if k.strip())
        bad = [k for k in keys if not k.endswith("_API_KEY")]
        if bad:
            raise ValueError(f"provider keys must be named *_API_KEY: {', '.join(bad)}")
        settings = Settings(**{**settings.__dict__, "provider_keys": keys})
    return settings


# Single sign-on (OIDC), from `-c` context values: the plain settings of the task's environment.
# The client secret is never one of them: it is its own Secrets Manager secret (frontend.py).
OIDC_CONTEXT = {
    "oidcIssuer": "OIDC_ISSUER",
    "oidcClientId": "OIDC_CLIENT_ID",
    "oidcProviderName": "OIDC_PROVIDER_NAME",
    "oidcGroupsClaim": "OIDC_GROUPS_CLAIM",
    "oidcRoleMap": "OIDC_ROLE_MAP",
    "oidcScopes": "OIDC_SCOPES",
    "passwordLogin": "PASSWORD_LOGIN",
}


def oidc_environment(context: dict[str, str | None]) -> dict[str, str]:
    """`{"OIDC_ISSUER": …, …}` for the context values given; empty when SSO is not configured."""
    found = {OIDC_CONTEXT[k]: str(v).strip() for k, v in context.items() if k in OIDC_CONTEXT and v}
    if not found:
        return {}
    issuer = found.get("OIDC_ISSUER", "")
    if not issuer.startswith("https://"):
        raise ValueError("oidcIssuer must be the provider's https:// issuer URL")
    if not found.get("OIDC_CLIENT_ID"):
        raise ValueError("oidcClientId is needed with oidcIssuer")
    if found.get("PASSWORD_LOGIN", "on") not in ("on", "off"):
        raise ValueError("passwordLogin must be on or off")
    return found
