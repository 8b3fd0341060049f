"""Who is calling: the API key in `Authorization: Bearer <key>`, its workspace and its role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from builder.api.errors import ApiError
from runtime.store import Role, get_engine, session_scope
from runtime.store.accounts import WRITER_ROLES
from runtime.store.api_keys import authenticate

# auto_error=False: a missing header answers in our error shape (401), not FastAPI's 403.
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="apiKey", description="An API key from `trellis apikey create`."
)


@dataclass(frozen=True)
class Caller:
    """The authenticated API key: the workspace every query is scoped to and what it may do."""

    key_id: str
    workspace_id: str
    role: Role
    user_id: str | None
    """Who created the key: the actor its changes are audited under (None for a CLI-made key)."""

    @property
    def may_write(self) -> bool:
        """Whether this caller may create, change, delete and run workflows."""
        return self.role in WRITER_ROLES


def unauthorized(message: str) -> ApiError:
    """A 401 that tells clients which scheme to use."""
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="trellis"'})


def _caller_for(token: str) -> Caller | None:
    with session_scope(get_engine()) as session:
        key = authenticate(session, token)
        return None if key is None else Caller(key.id, key.workspace_id, key.role, key.created_by)


async def current_caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Caller:
    """The caller behind the bearer key; 401 when it is missing, malformed, unknown or revoked."""
    if credentials is None:
        raise unauthorized(
            "Send an API key as `Authorization: Bearer <key>` (create one with `trellis apikey create`)."
        )
    caller = await run_in_threadpool(_caller_for, credentials.credentials)
    if caller is None:
        raise unauthorized("The API key is not valid or has been revoked.")
    return caller


async def writer(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The caller, if its role may change and run workflows; 403 for a viewer key."""
    if not caller.may_write:
        raise ApiError(403, "forbidden", f"This API key's role ({caller.role.value}) may read but not change or run.")
    return caller


Reader = Annotated[Caller, Depends(current_caller)]
Writer = Annotated[Caller, Depends(writer)]
