"""Trellis settings: one pydantic-settings class, read from `TRELLIS_*` environment variables."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Trellis reads; the defaults make `make run` work with no configuration."""

    model_config = SettingsConfigDict(env_prefix="TRELLIS_", extra="ignore")

    data_dir: Path = Field(Path(".trellis"), description="Folder for the zero-setup SQLite database and local files.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; unset means SQLite at <data_dir>/trellis.db.")
    redis_url: str | None = Field(None, description="Redis URL; unset means the in-process executor.")
    port: int = Field(3000, ge=1, le=65535, description="Port serving pages and API.")
    public_url: str | None = Field(None, description="Public base URL; unset means http://localhost:<port>.")
    secret_keys: str | None = Field(
        None,
        description="Comma-separated Fernet keys, newest first; unset means a key file under <data_dir>.",
    )
    max_import_bytes: int = Field(5 * 1024 * 1024, gt=0, description="Largest workflow document accepted.")
    ssrf_allowed_cidrs: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks outbound HTTP may reach although private or local, e.g. `10.0.0.0/8,fd00::/8`.",
    )
    ssrf_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names outbound HTTP may reach whatever they resolve to; `*.corp.example` matches subdomains.",
    )
    egress_allowed_ports: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [80, 443], description="Ports outbound HTTP may connect to."
    )
    egress_proxy: str | None = Field(
        None, description="Proxy URL for all outbound HTTP; environment proxies are ignored."
    )
    egress_max_body_bytes: int = Field(10 * 1024 * 1024, gt=0, description="Largest response body read.")
    egress_connect_timeout_s: float = Field(5.0, gt=0, description="Seconds to resolve and connect.")
    egress_timeout_s: float = Field(30.0, gt=0, description="Seconds an outbound request may take in total.")

    @field_validator("ssrf_allowed_cidrs", "ssrf_allowed_hosts", "egress_allowed_ports", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """Accept a JSON list or a comma-separated string (`a,b`) for list settings."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]

    @field_validator("ssrf_allowed_cidrs")
    @classmethod
    def _check_cidrs(cls, value: list[str]) -> list[str]:
        """Reject a malformed network at startup instead of at the first request."""
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value

    metrics_dir: Path | None = Field(
        None,
        description=(
            "Folder where every process (web, worker) keeps its Prometheus values for `/metrics`; "
            "unset means $PROMETHEUS_MULTIPROC_DIR, else <data_dir>/metrics. Processes on one host share it."
        ),
    )
    webhook_client_rate_limit_per_minute: int = Field(
        600, gt=0, description="Webhook calls one client address may make per minute, over all hooks."
    )
    event_stream_ttl_s: int = Field(
        3600, gt=0, description="Seconds a run's event stream is kept after its last event."
    )
    worker_concurrency: int = Field(
        16, ge=1, le=1000, description="Runs one `trellis worker` process executes at once."
    )
    lease_s: float = Field(15.0, gt=0, description="Seconds a run's lease lasts without a heartbeat.")
    heartbeat_s: float = Field(5.0, gt=0, description="Seconds between two extensions of the leases a process holds.")
    reaper_interval_s: float = Field(
        5.0, gt=0, description="Seconds between two looks for runs whose lease expired (their executor died)."
    )
    reconcile_interval_s: float = Field(
        30.0, gt=0, description="Seconds between two checks that every queued run is in the queue (Redis lost it?)."
    )
    max_run_attempts: int = Field(
        3, ge=1, description="Executors a run may be claimed by; after that many died under it, it fails (worker_lost)."
    )
    worker_grace_s: float = Field(
        50.0, ge=0, description="Seconds a stopping worker lets nodes in flight finish before handing their runs back."
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the configured one, or the default SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'trellis.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        """The base URL users reach the app at."""
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
