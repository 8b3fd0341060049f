"""`Idempotency-Key` on `POST /api/v1/runs` (draft-ietf-httpapi-idempotency-key-header, T2.9).

The same key with the same body answers the first run again for 24 hours and starts nothing;
with another body it is refused (422); while the first request is still starting its run, a
duplicate gets 409; a key too short to be unique (less than a UUID's worth) gets 400.
"""

from __future__ import annotations

import hashlib
import json
import re

from sqlalchemy.exc import IntegrityError

from builder.api.errors import ApiError
from builder.api.v1.auth import Caller
from builder.api.v1.models import RunStart
from runtime.config import get_settings
from runtime.executor.dispatch import start_run, trigger_payload
from runtime.store import RunTrigger, get_engine, session_scope
from runtime.store.idempotency import Claim, ClaimState, claim_key, complete_claim, release_claim

KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{22,255}")
"""At least 22 characters (128 random bits in base64url; a UUID has 36), printable and header-safe."""


def checked_key(key: str) -> str:
    """`key` if it is unique enough to be an idempotency key; 400 naming it otherwise."""
    if KEY_PATTERN.fullmatch(key) is None:
        message = (
            f"Idempotency-Key {key!r} must be 22 to 255 letters, digits or `._:-`, e.g. a UUID, "
            "so that it cannot collide with another request's key."
        )
        raise ApiError(400, "invalid_idempotency_key", message, field="Idempotency-Key")
    return key


def request_hash(body: RunStart) -> str:
    """A fingerprint of the request: the same workflow and input give the same hash."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(caller: Caller, key: str, fingerprint: str) -> Claim:
    for _attempt in range(2):
        try:
            with session_scope(get_engine()) as session:
                return claim_key(session, caller.workspace_id, key, fingerprint)
        except IntegrityError:
            continue  # a concurrent request claimed it first: read its claim
    raise ApiError(409, "idempotency_key_in_flight", f"A request with Idempotency-Key {key!r} is in progress.")


def start_api_run(caller: Caller, body: RunStart) -> str:
    """Store and dispatch a run of the workflow's latest version with `body.input` as `trigger.body`; its id."""
    trigger = trigger_payload(body.input)
    run_id, _future = start_run(get_settings(), caller.workspace_id, body.workflow_id, trigger, RunTrigger.API)
    return run_id


def start_once(caller: Caller, key: str, body: RunStart) -> tuple[str, bool]:
    """The run started for `key`: (run id, whether it was started by an earlier request)."""
    claim = _claim(caller, checked_key(key), request_hash(body))
    if claim.state is ClaimState.REPLAY and claim.run_id is not None:
        return claim.run_id, True
    if claim.state is ClaimState.MISMATCH:
        message = f"Idempotency-Key {key!r} was already used with a different request body."
        raise ApiError(422, "idempotency_key_reused", message, field="Idempotency-Key")
    if claim.state is ClaimState.IN_FLIGHT:
        message = f"A request with Idempotency-Key {key!r} is still in progress; retry after it answers."
        raise ApiError(409, "idempotency_key_in_flight", message, headers={"Retry-After": "1"})
    try:
        run_id = start_api_run(caller, body)
    except BaseException:
        with session_scope(get_engine()) as session:
            release_claim(session, claim.row.id)
        raise
    with session_scope(get_engine()) as session:
        complete_claim(session, claim.row.id, run_id)
    return run_id, False
