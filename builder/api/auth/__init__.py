"""Sign-in over HTTP: first-run setup, email and password, logout, and OpenID Connect."""

from __future__ import annotations

from fastapi import APIRouter

from builder.api.auth import oidc, password, setup
from builder.api.auth.oidc import install_oidc_transactions

router = APIRouter()
for _part in (setup.router, password.router, oidc.router):
    router.include_router(_part)

__all__ = ["install_oidc_transactions", "router"]
