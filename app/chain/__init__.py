"""The chain engine: definitions, variables, lint, providers, the runner. No Flask import.

litellm must never reach for the internet (no network here, and none needed in production):
these are set before any module of the package can import it.
"""

import os

for _name, _value in (
    ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
    ("LITELLM_OFFLINE_MODE", "true"),
    ("HF_HUB_OFFLINE", "1"),
):
    os.environ.setdefault(_name, _value)
