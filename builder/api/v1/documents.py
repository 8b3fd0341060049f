"""`/api/v1/workflows/import` and `/api/v1/workflows/{id}/export`: workflow documents in and out as files."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from builder.api.v1.auth import Reader, Writer
from builder.api.v1.db import workspace_session
from builder.api.v1.models import DOCUMENT_DESCRIPTION, Id, WorkflowDetail, error_responses
from builder.api.v1.workflows import audit_api, workflow_detail
from runtime.workflows import export_workflow, import_workflow, parse_upload

router = APIRouter(prefix="/workflows", tags=["import and export"])

DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": DOCUMENT_DESCRIPTION,
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}
EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The latest document, as a file to save.",
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}


@router.post(
    "/import", status_code=201, response_model=WorkflowDetail, responses=error_responses(403),
    openapi_extra=DOCUMENT_BODY, summary="Import a workflow document",
)  # fmt: skip
async def import_document(request: Request, caller: Writer, response: Response) -> WorkflowDetail:
    """Store the uploaded document (the request body, as exported) as a new workflow.

    Nothing is stored when it is invalid: 422 with every problem in `issues`, each naming the node,
    the field and the value.
    """
    raw = parse_upload(await request.body())

    def store() -> WorkflowDetail:
        with workspace_session() as session:
            workflow = import_workflow(session, caller.workspace_id, raw)
            audit_api(session, caller, "workflow.imported", workflow.id, name=workflow.name)
            return workflow_detail(session, caller.workspace_id, workflow)

    detail = await run_in_threadpool(store)
    response.headers["Location"] = f"/api/v1/workflows/{detail.id}"
    return detail


@router.get(
    "/{workflow_id}/export", response_class=JSONResponse, responses={**error_responses(404), **EXPORT_RESPONSE},
    summary="Export a workflow document",
)  # fmt: skip
def export_document(workflow_id: Id, caller: Reader) -> JSONResponse:
    """The latest document of the workflow, ready to import elsewhere (no secrets: credentials are ids)."""
    with workspace_session() as session:
        document = export_workflow(session, caller.workspace_id, workflow_id)
        audit_api(session, caller, "workflow.exported", workflow_id)
    filename = re.sub(r"[^A-Za-z0-9._-]+", "-", str(document.get("name", ""))).strip("-") or workflow_id
    return JSONResponse(document, headers={"Content-Disposition": f'attachment; filename="{filename}.json"'})
