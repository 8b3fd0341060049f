"""REST API `/api/v1`, authenticated by API keys (`Authorization: Bearer`); one module per resource."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from builder.api.v1 import credentials, documents, run_actions, run_events, runs, versions, workflows
from builder.api.v1.auth import Reader
from builder.api.v1.fallback import install_fallback
from builder.api.v1.guards import reject_nul_characters, reject_unknown_query
from builder.api.v1.models import CallerOut, error_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_unknown_query), Depends(reject_nul_characters)])


@router.get("/me", response_model=CallerOut, responses=error_responses(), tags=["keys"], summary="Who am I")
def me(caller: Reader) -> CallerOut:
    """The API key the request carries: its id, workspace and role."""
    return CallerOut(key_id=caller.key_id, workspace_id=caller.workspace_id, role=caller.role)


for resource in (documents, workflows, versions, runs, run_actions, run_events, credentials):
    router.include_router(resource.router)
install_fallback(router)
