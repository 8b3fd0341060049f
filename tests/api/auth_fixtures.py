"""One real Trellis for the sign-in API tests: `trellis serve` on a fresh PostgreSQL database, failed
sign-ins counted in Redis, OIDC pointed at a real provider (oidc-provider-mock) on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis
import sqlalchemy as sa

from runtime.store import make_engine
from tests.oidc_provider import OidcProvider, running_oidc_provider
from tests.processes import Server, running_server

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "correct horse battery staple"
OIDC_USERS = {
    "ada": {"email": "ada@example.com", "email_verified": True, "name": "Ada"},
    "eve": {"email": "eve@elsewhere.example", "email_verified": True, "name": "Eve"},
}


@dataclass(frozen=True)
class AuthServer:
    """The server, its database, and the provider its OIDC settings name."""

    server: Server
    engine: sa.Engine
    provider: OidcProvider

    @property
    def url(self) -> str:
        return self.server.url


def forget_failed_logins(redis_url: str) -> None:
    """Drop the failure counts an earlier run left (they last 15 minutes) from the test Redis database."""
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match="*trellis-login*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """oidc-provider-mock on a free loopback port with the users in OIDC_USERS."""
    with running_oidc_provider(OIDC_USERS) as provider:
        yield provider


@pytest.fixture(scope="module")
def auth_server(
    tmp_path_factory: pytest.TempPathFactory, make_pg_database, oidc_provider: OidcProvider
) -> Iterator[AuthServer]:  # type: ignore[no-untyped-def]
    """A fresh server per test module (setup still pending when its first test starts) with OIDC configured
    and failure limits kept in Redis."""
    redis_url = os.environ.get("TRELLIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    forget_failed_logins(redis_url)
    env = {**oidc_provider.trellis_env(), "TRELLIS_REDIS_URL": redis_url}
    database_url = make_pg_database()
    with running_server(database_url, tmp_path_factory.mktemp("trellis-auth"), env) as server:
        engine = make_engine(database_url)
        yield AuthServer(server, engine, oidc_provider)
        engine.dispose()


def setup_token(server: Server) -> str:
    """The one-time token in the setup link `trellis serve` printed at start."""
    link = next(line for line in server.startup_lines if "/setup?token=" in line)
    return link.rsplit("token=", 1)[1].strip()


def owner_fields(**changes: str) -> dict[str, str]:
    """A valid setup form for the owner, with `changes` applied."""
    fields = {"email": OWNER_EMAIL, "password": OWNER_PASSWORD, "confirm": OWNER_PASSWORD, "workspace_name": "Acme"}
    return {**fields, **changes}


@pytest.fixture
def set_up(auth_server: AuthServer) -> AuthServer:
    """The server once its owner exists (created here from loopback if no test did it yet)."""
    if httpx.get(f"{auth_server.url}/api/auth/setup").status_code == 200:
        answer = httpx.post(f"{auth_server.url}/api/auth/setup", json=owner_fields())
        assert answer.status_code == 200, answer.text
    return auth_server
