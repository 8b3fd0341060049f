"""The HTTP API served on the app's one port beside the pages: webhooks, REST `/api/v1`, ops
endpoints, and the OpenAPI document (`/api/openapi.json`, browsable at `/api/docs`)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from builder.api import approval_page, auth, hooks, invites, ops, v1
from builder.api.auth import install_oidc_transactions
from builder.api.errors import install_error_handlers
from builder.api.origin import OriginCheck
from runtime.config import get_settings


def create_api() -> FastAPI:
    """The FastAPI app Reflex mounts its own routes behind (ours take precedence)."""
    # FastAPIOffline serves the docs page's Swagger UI files itself: the default loads them from a CDN,
    # which an offline or locked-down install cannot reach.
    api = FastAPIOffline(
        title="Trellis API", version="1", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None,
        static_url="/api/docs/static", swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
        swagger_ui_parameters={"persistAuthorization": True},
    )  # fmt: skip
    install_error_handlers(api)
    settings = get_settings()
    install_oidc_transactions(api, settings)
    api.add_middleware(OriginCheck, allowed_origins=settings.allowed_origins)
    for router in (auth.router, hooks.router, invites.router, v1.router, ops.router, approval_page.router):
        api.include_router(router)
    return api
