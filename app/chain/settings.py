"""Runner settings: plain values, so the engine never reads Flask's config itself."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any


def _owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RunnerSettings:
    pool_size: int = 40  # concurrent executions per process (bench/streaming.py sizes it)
    flush_interval: float = 0.25  # seconds between event flushes (100–250 ms; PERFORMANCE.md)
    lease_seconds: float = 30.0  # renewed at each flush; expired leases are reclaimed
    max_attempts: int = 3  # claims of one execution before it is failed
    prompt_timeout: float = 120.0  # whole answer, when neither prompt nor assistant sets one
    read_timeout: float = 60.0  # longest silence from the provider
    retries: int = 2  # extra tries on 429, 5xx, connection errors, cut streams
    retry_backoff: float = 0.5  # first wait; doubles each retry
    poll_interval: float = 1.0  # idle runners look for work at least this often
    key_env_allowlist: tuple[str, ...] = ()
    owner: str = field(default_factory=_owner_id)

    @classmethod
    def from_config(cls, config: Any) -> RunnerSettings:
        return cls(
            pool_size=int(config.get("RUNNER_POOL_SIZE", cls.pool_size)),
            flush_interval=float(config.get("RUNNER_FLUSH_MS", cls.flush_interval * 1000)) / 1000,
            lease_seconds=float(config.get("RUNNER_LEASE_SECONDS", cls.lease_seconds)),
            max_attempts=int(config.get("RUNNER_MAX_ATTEMPTS", cls.max_attempts)),
            prompt_timeout=float(config.get("PROMPT_TIMEOUT_SECONDS", cls.prompt_timeout)),
            read_timeout=float(config.get("PROVIDER_READ_TIMEOUT_SECONDS", cls.read_timeout)),
            retries=int(config.get("PROVIDER_RETRIES", cls.retries)),
            retry_backoff=float(config.get("PROVIDER_RETRY_BACKOFF_MS", cls.retry_backoff * 1000))
            / 1000,
            poll_interval=float(config.get("RUNNER_POLL_SECONDS", cls.poll_interval)),
            key_env_allowlist=tuple(config.get("API_KEY_ENV_ALLOWLIST", ()) or ()),
        )
