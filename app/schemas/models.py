"""The model administration form (web and `flask models add`): one schema, plain messages.

Checks that need the configuration or the database (the key-variable allowlist, a unique
model_id) live in app.model_admin.validate_model, which runs this schema first.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from app.models.ai_model import DEMO_PROVIDER

# Providers an administrator may choose; `demo` is only ever the offline demo row's.
PROVIDERS: dict[str, str] = {
    "openai": "OpenAI",
    "openai-compatible": "OpenAI-compatible server (vLLM, LM Studio …)",
    "anthropic": "Anthropic",
    "gemini": "Google Gemini",
    "vertex_ai": "Google Vertex AI",
    "bedrock": "AWS Bedrock",
    "azure": "Azure OpenAI",
    "ollama": "Ollama",
    "mistral": "Mistral",
    "groq": "Groq",
}
PROVIDER_LABELS = {**PROVIDERS, DEMO_PROVIDER: "Offline demo"}

MODEL_ID = re.compile(r"[A-Za-z0-9_.:@+-]+(?:/[A-Za-z0-9_.:@+-]+)*\Z")  # match()ed
MODEL_ID_RULE = (
    "Write a litellm model name such as openai/gpt-4o-mini or llama3: letters, digits and "
    ". _ - : @ +, parts separated by /, no spaces."
)
KEY_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
MAX_PRICE = Decimal("999999")
# Cloud instance metadata services: a model endpoint there would hand out the server's credentials.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_IPS = frozenset({ipaddress.ip_address("fd00:ec2::254")})  # EC2's IPv6 metadata address
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a literal host names, in any spelling the resolver accepts (2852039166 …)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:  # inet_aton reads what getaddrinfo would: decimal, hex, octal, short forms
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def endpoint_problem(url: str) -> str | None:
    """Why `url` cannot be a model endpoint, or None. Hostnames are not resolved here."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError for a port out of range
    except ValueError:
        return "Enter a valid address, such as http://ollama:11434 or https://llm.example.org/v1."
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return "Enter an http:// or https:// address, such as http://ollama:11434."
    if parts.username is not None or parts.password is not None:
        return (
            "Don't put a user name or password in the address: name the key's environment "
            "variable below instead."
        )
    host = unquote(parts.hostname).rstrip(".").lower()
    ip = _literal_ip(host)
    if host in METADATA_HOSTS or (ip is not None and _forbidden(ip)):
        return REFUSED
    return None


REFUSED = (
    "This address is refused: it points at the cloud metadata service or a link-local "
    "address (169.254.x.x, fe80::), which could expose the server's own credentials."
)


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_link_local or ip in METADATA_IPS


def resolution_problem(url: str) -> str | None:
    """Why `url`'s host name resolves somewhere a model endpoint may not be, or None.

    Every address the resolver returns is checked (a name may point at the metadata service).
    A name that does not resolve here passes: it is checked again before each model call.
    """
    parts = urlsplit(url)
    host = unquote(parts.hostname or "").rstrip(".").lower()
    if not host or _literal_ip(host) is not None:
        return None  # literals were judged by endpoint_problem, without a lookup
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        ip = _literal_ip(str(info[4][0]).split("%")[0])
        if ip is not None and _forbidden(ip):
            return (
                f"This address is refused: {host} resolves to {ip}, a link-local or cloud "
                "metadata address, which could expose the server's own credentials."
            )
    return None


def _optional(kind: type[fields.Field], message: str, **kwargs: Any) -> fields.Field:
    return kind(allow_none=True, load_default=None, error_messages={"invalid": message}, **kwargs)


def _price(label: str) -> fields.Field:
    message = f"Enter the {label} price as a number of dollars, such as 0.0006 (0 or more)."
    return _optional(
        fields.Decimal,
        message,
        validate=validate.Range(min=0, max=MAX_PRICE, error=message),
    )


class ModelSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    OPTIONAL = (
        "api_base",
        "api_key_env",
        "max_tokens",
        "input_cost_per_1k",
        "output_cost_per_1k",
    )

    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255, error="Enter a name (up to 255 characters)."),
        error_messages={"required": "Enter a name.", "null": "Enter a name."},
    )
    model_id = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=255, error="Enter the model name (up to 255 characters)."),
            validate.Regexp(MODEL_ID, error=MODEL_ID_RULE),
        ],
        error_messages={"required": "Enter the model name.", "null": "Enter the model name."},
    )
    provider = fields.String(
        required=True,
        validate=validate.OneOf(list(PROVIDERS), error="Choose a provider from the list."),
        error_messages={"required": "Choose a provider.", "null": "Choose a provider."},
    )
    api_base = _optional(fields.String, "Enter a valid address.")
    api_key_env = _optional(fields.String, "Enter the name of an environment variable.")
    max_tokens = _optional(
        fields.Integer,
        "Enter the context window as a whole number of tokens, such as 128000.",
        strict=False,
        validate=validate.Range(
            min=1,
            max=100_000_000,
            error="Enter the context window as a whole number of tokens greater than 0.",
        ),
    )
    input_cost_per_1k = _price("input")
    output_cost_per_1k = _price("output")

    @pre_load
    def clean(self, data: dict, **_: Any) -> dict:
        cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        for key in self.OPTIONAL:
            if cleaned.get(key) == "":
                cleaned[key] = None
        return cleaned

    @validates("api_base")
    def check_api_base(self, value: str | None, **_: Any) -> None:
        if value is None:
            return
        if len(value) > 1024:
            raise ValidationError("Use an address of at most 1024 characters.")
        problem = endpoint_problem(value)
        if problem:
            raise ValidationError(problem)

    @validates("api_key_env")
    def check_api_key_env(self, value: str | None, **_: Any) -> None:
        if value is not None and not KEY_ENV_NAME.fullmatch(value):
            raise ValidationError(
                "Enter the NAME of an environment variable in capitals, such as OPENAI_API_KEY "
                "— never the key itself."
            )

    @validates("input_cost_per_1k", "output_cost_per_1k")
    def check_places(self, value: Decimal | None, **_: Any) -> None:
        exponent = value.as_tuple().exponent if value is not None else 0
        if isinstance(exponent, int) and exponent < -8:
            raise ValidationError("Use at most 8 decimal places.")

    @validates_schema(skip_on_field_errors=False)
    def check_together(self, data: dict, **_: Any) -> None:
        errors: dict[str, str] = {}
        prices = (data.get("input_cost_per_1k"), data.get("output_cost_per_1k"))
        if (prices[0] is None) != (prices[1] is None):
            missing = "input_cost_per_1k" if prices[0] is None else "output_cost_per_1k"
            errors[missing] = "Give both prices, or neither (unpriced)."
        if data.get("provider") == "openai-compatible":
            # A key that is absent had its own error already; None means "left empty".
            if "api_base" in data and data["api_base"] is None:
                errors["api_base"] = "An OpenAI-compatible server needs its address."
            if "model_id" in data and not data["model_id"].startswith("openai/"):
                errors["model_id"] = (
                    "For an OpenAI-compatible server, start the model name with openai/ "
                    "(for example openai/llama3)."
                )
        if errors:
            raise ValidationError(errors)


class DemoModelSchema(ModelSchema):
    """The offline demo row: only its name and context window are really editable."""

    provider = fields.String(required=True, validate=validate.Equal(DEMO_PROVIDER))


model_schema = ModelSchema()
demo_model_schema = DemoModelSchema()
