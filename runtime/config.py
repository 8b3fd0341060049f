"""Trellis settings: one pydantic-settings class, read from `TRELLIS_*` environment variables."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Trellis reads; the defaults make `make run` work with no configuration."""

    model_config = SettingsConfigDict(env_prefix="TRELLIS_", extra="ignore")

    data_dir: Path = Field(Path(".trellis"), description="Folder for the zero-setup SQLite database and local files.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; unset means SQLite at <data_dir>/trellis.db.")
    redis_url: str | None = Field(None, description="Redis URL; unset means the in-process executor.")
    port: int = Field(3000, ge=1, le=65535, description="Port serving pages and API.")
    web_workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description=(
            "Server processes one `trellis serve` runs in queue mode (page sessions live in Redis then); "
            "unset means Reflex's 2 x CPUs + 1. Without Redis a web process always runs one."
        ),
    )
    public_url: str | None = Field(None, description="Public base URL; unset means http://localhost:<port>.")
    secret_keys: str | None = Field(
        None,
        description=(
            "Comma-separated Fernet keys, the first encrypting, all decrypting; unset means "
            "TRELLIS_SECRET_KEYS_FILE, else (SQLite only) a generated key file under <data_dir>."
        ),
    )
    secret_keys_file: Path | None = Field(
        None, description="File holding the comma-separated Fernet keys (e.g. a mounted secret)."
    )
    env: str = Field("development", description="`production` requires TRELLIS_SECRET_KEYS even on SQLite.")
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

    @field_validator(
        "ssrf_allowed_cidrs", "ssrf_allowed_hosts", "egress_allowed_ports", "oidc_allowed_domains", mode="before"
    )
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
    oidc_issuer: str | None = Field(
        None, description="OpenID Connect issuer URL (its `/.well-known/openid-configuration` is read); unset: no OIDC."
    )
    oidc_client_id: str | None = Field(None, description="Client id registered with the OIDC issuer.")
    oidc_client_secret: str | None = Field(None, description="Client secret registered with the OIDC issuer.")
    oidc_allowed_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Email domains whose OIDC users may join on first sign-in, e.g. `example.com,corp.example`.",
    )
    oidc_display_name: str = Field("SSO", description='Provider name on the login page ("Sign in with <name>").')
    oidc_default_role: Literal["admin", "editor", "viewer"] = Field(
        "viewer", description="Role a new OIDC user gets in the first workspace."
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
    def is_production(self) -> bool:
        """Whether keys must be configured: TRELLIS_ENV=production or any database other than SQLite."""
        return self.env.lower() == "production" or not self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_public_url(self) -> str:
        """The base URL users reach the app at."""
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def public_is_https(self) -> bool:
        """Whether users reach the app over https (then cookies are `Secure` and `__Host-` prefixed)."""
        return urlsplit(self.resolved_public_url).scheme == "https"

    @property
    def allowed_origins(self) -> list[str]:
        """Origins a browser may send cookie-carrying writes and websocket handshakes from.

        The public origin, plus the local addresses the app is served on when the public URL is local.
        """
        public = urlsplit(self.resolved_public_url)
        origins = [f"{public.scheme}://{public.netloc}"]
        if public.hostname in {"localhost", "127.0.0.1", "::1"}:
            for local in (f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"):
                if local not in origins:
                    origins.append(local)
        return origins

    @property
    def oidc_enabled(self) -> bool:
        """Whether an OIDC issuer and client are configured."""
        return bool(self.oidc_issuer and self.oidc_client_id)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
