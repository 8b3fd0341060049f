"""`/api/v1/credentials`: list, read, create, update and delete the workspace's credentials.

Secret fields are write-only: answers carry only the masked last four characters (`…1234`), and
viewer keys see names and types only. An update that leaves a secret field out keeps it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from builder.api.errors import ApiError
from builder.api.v1.auth import Caller, Reader, Writer
from builder.api.v1.db import workspace_session
from builder.api.v1.models import Id, error_responses
from runtime.credential_types import CREDENTIAL_TYPES
from runtime.credentials import CredentialView, add_credential, credential_views, edit_credential, remove_credential

router = APIRouter(prefix="/credentials", tags=["credentials"])
TYPES_TEXT = ", ".join(f"`{kind.id}` ({', '.join(f.name for f in kind.fields)})" for kind in CREDENTIAL_TYPES.values())


class WorkflowRef(BaseModel):
    """A workflow whose latest version uses the credential."""

    id: str
    name: str


class CredentialOut(BaseModel):
    """A credential without its secrets; `masked`, `fields`, `updated_by` and `used_by` are null for viewer keys."""

    id: str
    name: str
    type: str
    masked: str | None = Field(description="`…1234`: the last four characters of the main secret.")
    fields: dict[str, Any] | None = Field(description="The fields that are not secret, e.g. `base_url`.")
    updated_at: datetime
    updated_by: str | None = Field(description="Email of who changed it last; null for the command line.")
    used_by: list[WorkflowRef] | None


class CredentialList(BaseModel):
    """Every credential of the workspace, by name."""

    items: list[CredentialOut]


class CredentialCreate(BaseModel):
    """A new credential."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: str = Field(description=f"One of: {TYPES_TEXT}.", json_schema_extra={"enum": list(CREDENTIAL_TYPES)})
    fields: dict[str, Any] = Field(description="The type's fields, secret ones included; never shown again.")


class CredentialUpdate(BaseModel):
    """Rename and/or change fields; a secret field left out or empty keeps its stored value."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    fields: dict[str, Any] | None = None


def credential_out(view: CredentialView, caller: Caller) -> CredentialOut:
    """The answer for `view`: viewers get the name and type only."""
    full = caller.may_write
    return CredentialOut(
        id=view.id, name=view.name, type=view.type, updated_at=view.updated_at,
        updated_by=view.updated_by if full else None,
        masked=view.hint if full else None, fields=view.plain_fields if full else None,
        used_by=[WorkflowRef(id=i, name=n) for i, n in view.used_by] if full else None,
    )  # fmt: skip


def via(caller: Caller) -> str:
    """What the audit trail names as the actor of an API call."""
    return f"api_key:{caller.key_id}"


def _one(caller: Caller, credential_id: str) -> CredentialOut:
    with workspace_session() as session:
        return credential_out(credential_views(session, caller.workspace_id, credential_id)[0], caller)


@router.get("", response_model=CredentialList, responses=error_responses(), summary="List credentials")
def list_all(caller: Reader) -> CredentialList:
    """Every credential of the key's workspace, by name, secrets masked."""
    with workspace_session() as session:
        views = credential_views(session, caller.workspace_id)
    return CredentialList(items=[credential_out(view, caller) for view in views])


@router.get("/{credential_id}", response_model=CredentialOut, responses=error_responses(404), summary="Get one")
def get_one(credential_id: Id, caller: Reader) -> CredentialOut:
    """One credential, secrets masked."""
    return _one(caller, credential_id)


@router.post(
    "", status_code=201, response_model=CredentialOut, responses=error_responses(403), summary="Create a credential"
)
def create(body: CredentialCreate, caller: Writer, response: Response) -> CredentialOut:
    """Store a credential; its secret fields are encrypted and never returned."""
    with workspace_session() as session:
        credential_id = add_credential(
            session, caller.workspace_id, None, body.name, body.type, body.fields, via=via(caller)
        ).id
    response.headers["Location"] = f"/api/v1/credentials/{credential_id}"
    return _one(caller, credential_id)


@router.patch(
    "/{credential_id}", response_model=CredentialOut, responses=error_responses(403, 404), summary="Update a credential"
)
def update(credential_id: Id, body: CredentialUpdate, caller: Writer) -> CredentialOut:
    """Rename it and/or change its fields; secret fields left out keep their stored values."""
    with workspace_session() as session:
        edit_credential(
            session, caller.workspace_id, None, credential_id, body.name, body.fields or {}, via=via(caller)
        )
    return _one(caller, credential_id)


@router.delete(
    "/{credential_id}", status_code=204, response_class=Response, responses=error_responses(403, 404, 409),
    summary="Delete a credential",
)  # fmt: skip
def delete(
    credential_id: Id, caller: Writer,
    force: bool = Query(False, description="Delete even when workflows use it (their runs will fail)."),
) -> Response:  # fmt: skip
    """Delete the credential; 409 naming the workflows that use it unless `force=true`."""
    with workspace_session() as session:
        view = credential_views(session, caller.workspace_id, credential_id)[0]
        if view.used_by and not force:
            names = ", ".join(name for _id, name in view.used_by)
            used_by = [{"id": i, "name": n} for i, n in view.used_by]
            raise ApiError(409, "credential_in_use", f"Used by: {names}. Pass force=true to delete it anyway.",
                           used_by=used_by)  # fmt: skip
        remove_credential(session, caller.workspace_id, None, credential_id, via=via(caller))
    return Response(status_code=204)
