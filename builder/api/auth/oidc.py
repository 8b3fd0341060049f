"""Sign-in through an OpenID Connect issuer (authlib's Starlette client): code flow with PKCE S256,
`state` and `nonce` kept in a short-lived signed cookie, every call to the issuer through the egress guard.

`GET /api/auth/oidc/login?next=/path` sends the browser to the issuer; `GET /api/auth/oidc/callback`
checks the answer (state, code, id_token signature, issuer, audience, expiry, nonce) and signs the user in.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import httpx
import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from builder.api.auth.web import browser_session_token, client_address, safe_next, signed_in_answer
from builder.api.errors import ApiError
from builder.api.policy import public
from runtime.auth.oidc_accounts import OidcRefused, oidc_login
from runtime.config import Settings, get_settings
from runtime.egress import EgressBlocked, GuardedHttpx2Transport
from runtime.secrets import derived_key
from runtime.store import get_engine

router = APIRouter(prefix="/api/auth/oidc", include_in_schema=False)

CLIENT_NAME = "trellis"
CALLBACK_PATH = "/api/auth/oidc/callback"
TRANSACTION_COOKIE = "trellis_oidc"
TRANSACTION_MAX_AGE_S = 600
ID_TOKEN_LEEWAY_S = 60
NEXT_KEY = "trellis_next"
UNREACHABLE = (EgressBlocked, httpx.HTTPError, httpx2.HTTPError, OSError)
"""Failures talking to the issuer: refused by the egress guard, network errors, error statuses."""


def install_oidc_transactions(api: FastAPI, settings: Settings) -> None:
    """Keep each sign-in's state, nonce and PKCE verifier in a signed cookie sent only to the callback path."""
    api.add_middleware(
        SessionMiddleware, secret_key=derived_key(settings, "trellis oidc transaction cookie"),
        session_cookie=TRANSACTION_COOKIE,
        max_age=TRANSACTION_MAX_AGE_S, path="/api/auth/oidc", same_site="lax", https_only=settings.public_is_https,
    )  # fmt: skip


@lru_cache(maxsize=2)
def oidc_client(issuer: str, client_id: str, client_secret: str | None) -> StarletteOAuth2App:
    """The authlib client for this issuer and client (cached: it keeps the issuer's metadata and keys)."""
    registry = OAuth()
    client = registry.register(
        CLIENT_NAME, client_id=client_id, client_secret=client_secret,
        server_metadata_url=f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid email profile", "code_challenge_method": "S256",
            "transport": GuardedHttpx2Transport(get_settings()),
        },
    )  # fmt: skip
    assert isinstance(client, StarletteOAuth2App)
    return client


def configured_client(settings: Settings) -> StarletteOAuth2App:
    """The client for the configured issuer; 404 when OIDC is not configured."""
    if not settings.oidc_enabled or settings.oidc_issuer is None or settings.oidc_client_id is None:
        raise ApiError(404, "not_found", "Sign-in with an identity provider is not configured.")
    return oidc_client(settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret)


async def issuer_metadata(client: StarletteOAuth2App, settings: Settings) -> dict[str, Any]:
    """The issuer's discovery document, which must name the configured issuer (OIDC Discovery §4.3)."""
    try:
        metadata: dict[str, Any] = await client.load_server_metadata()
    except (*UNREACHABLE, ValueError) as error:  # ValueError: the answer was not JSON
        raise ApiError(502, "oidc_unreachable", f"The identity provider could not be reached: {error}") from None
    if str(metadata.get("issuer", "")).rstrip("/") != str(settings.oidc_issuer).rstrip("/"):
        raise ApiError(502, "oidc_issuer_mismatch", f"The provider names itself {metadata.get('issuer')!r}, "
                       f"not the configured issuer {settings.oidc_issuer!r}.")  # fmt: skip
    return metadata


@router.get("/login", openapi_extra=public("starts signing in with the identity provider"))
async def start_oidc_login(request: Request, next: str = "/") -> Response:
    """Send the browser to the identity provider (state, nonce and PKCE S256 challenge included)."""
    settings = get_settings()
    client = configured_client(settings)
    await issuer_metadata(client, settings)
    request.session[NEXT_KEY] = safe_next(next)
    response: Response = await client.authorize_redirect(request, f"{settings.resolved_public_url}{CALLBACK_PATH}")
    return response


@router.get("/callback", openapi_extra=public("the provider's code, state and nonce are checked"))
async def oidc_callback(request: Request) -> Response:
    """Check the provider's answer and sign the user in; 400 for a bad state, code or id_token."""
    settings = get_settings()
    client = configured_client(settings)
    metadata = await issuer_metadata(client, settings)
    claims = await verified_claims(request, client, str(metadata["issuer"]))
    address = client_address(request)
    previous = browser_session_token(request)
    try:
        signed_in = await run_in_threadpool(
            oidc_login, get_engine(), settings, str(metadata["issuer"]), claims, address, previous
        )
    except OidcRefused as refused:
        raise ApiError(403, "oidc_refused", str(refused)) from None
    target = safe_next(request.session.pop(NEXT_KEY, "/"))
    return signed_in_answer(request, signed_in.token, settings, target)


async def verified_claims(request: Request, client: StarletteOAuth2App, issuer: str) -> dict[str, Any]:
    """The id_token's claims once state, code exchange, signature, issuer, audience, expiry and nonce all check out."""
    try:
        token = await client.authorize_access_token(
            request, leeway=ID_TOKEN_LEEWAY_S, claims_options={"iss": {"essential": True, "values": [issuer]}}
        )
    except (AuthlibBaseError, JoseError) as error:
        raise ApiError(400, "oidc_refused", f"The sign-in answer was refused: {error}") from None
    except UNREACHABLE as error:
        raise ApiError(502, "oidc_unreachable", f"The identity provider could not be reached: {error}") from None
    claims = token.get("userinfo")
    if not claims:
        raise ApiError(400, "oidc_refused", "The provider sent no id_token.")
    return dict(claims)
