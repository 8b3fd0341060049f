"""Every HTTP route declares who may call it (T6.6), and the live server holds to it: a member of
another workspace gets 404 for this workspace's ids and never sees its data; a viewer key gets 403
for every route that changes or runs anything."""

from __future__ import annotations

import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import _IncludedRouter  # FastAPI 0.165 keeps included routers lazily; walked below

from builder.api import create_api
from builder.api.policy import ACCESS_EXTENSION
from builder.api.v1.auth import Reader, Writer
from tests.api.v1_fixtures import Keys, V1Server, client_for, example

DOCS_ROUTES = {"/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect"}
"""The API's own documentation, served by FastAPI: public, no data."""


def all_routes(routes: list[Any]) -> Iterator[Any]:
    """Every route of the app, included routers flattened, with its full path."""
    for route in routes:
        if isinstance(route, _IncludedRouter):
            yield from all_routes(route.effective_candidates())
        elif getattr(route, "endpoint", None) is not None:
            yield route


def policy(route: Any) -> str | None:
    """ "read", "write", "public: <why>", "docs", or None when the route declares nothing."""
    if route.path in DOCS_ROUTES:
        return "docs"
    declared = (getattr(route, "openapi_extra", None) or {}).get(ACCESS_EXTENSION)
    if declared:
        return str(declared)
    hints = typing.get_type_hints(route.endpoint, include_extras=True).values()
    if any(hint == Writer for hint in hints):
        return "write"
    if any(hint == Reader for hint in hints):
        return "read"
    return None


ROUTES = {(method, route.path): policy(route) for route in all_routes(create_api().routes) for method in route.methods}


def test_every_route_declares_a_policy() -> None:
    assert len(ROUTES) > 25
    assert [key for key, need in ROUTES.items() if need is None] == []


def test_every_v1_route_that_changes_or_runs_needs_a_writer_key() -> None:
    for (method, path), need in ROUTES.items():
        if path.startswith("/api/v1/") and "{path:path}" not in path:
            assert need == ("read" if method in {"GET", "HEAD"} else "write"), (method, path)


@dataclass(frozen=True)
class Call:
    """How to call one route: its path with this workspace's ids filled in, and a body."""

    path: str
    body: dict[str, Any] | None = None
    names_ours: bool = True
    """False when the call names nothing of this workspace (a list, or a create in the caller's own)."""


def calls(workflow_id: str, run_id: str, credential_id: str) -> dict[tuple[str, str], Call]:
    """One call per `/api/v1` route; a route missing here fails the walk."""
    doc = example("branch_if.json")
    return {
        ("GET", "/api/v1/me"): Call("/me", names_ours=False),
        ("GET", "/api/v1/workflows"): Call("/workflows", names_ours=False),
        ("POST", "/api/v1/workflows"): Call("/workflows", {"name": "walk"}, names_ours=False),
        ("POST", "/api/v1/workflows/import"): Call("/workflows/import", doc, names_ours=False),
        ("GET", "/api/v1/workflows/{workflow_id}"): Call(f"/workflows/{workflow_id}"),
        ("PATCH", "/api/v1/workflows/{workflow_id}"): Call(f"/workflows/{workflow_id}", {"name": "taken"}),
        ("DELETE", "/api/v1/workflows/{workflow_id}"): Call(f"/workflows/{workflow_id}"),
        ("GET", "/api/v1/workflows/{workflow_id}/export"): Call(f"/workflows/{workflow_id}/export"),
        ("GET", "/api/v1/workflows/{workflow_id}/versions"): Call(f"/workflows/{workflow_id}/versions"),
        ("GET", "/api/v1/workflows/{workflow_id}/versions/{number}"): Call(f"/workflows/{workflow_id}/versions/1"),
        ("POST", "/api/v1/runs"): Call("/runs", {"workflow_id": workflow_id, "input": {}}),
        ("GET", "/api/v1/runs"): Call("/runs", names_ours=False),
        ("GET", "/api/v1/runs/{run_id}"): Call(f"/runs/{run_id}"),
        ("POST", "/api/v1/runs/{run_id}/cancel"): Call(f"/runs/{run_id}/cancel"),
        ("GET", "/api/v1/runs/{run_id}/events"): Call(f"/runs/{run_id}/events"),
        ("GET", "/api/v1/runs/{run_id}/approvals"): Call(f"/runs/{run_id}/approvals"),
        ("POST", "/api/v1/runs/{run_id}/approvals/{node_id}"): Call(
            f"/runs/{run_id}/approvals/is_large", {"decision": "approve", "comment": "walk"}
        ),
        ("POST", "/api/v1/runs/{run_id}/resume"): Call(f"/runs/{run_id}/resume"),
        ("POST", "/api/v1/runs/{run_id}/replay"): Call(
            f"/runs/{run_id}/replay", {"from_node": "is_large", "input": {}}
        ),
        ("GET", "/api/v1/credentials"): Call("/credentials", names_ours=False),
        ("POST", "/api/v1/credentials"): Call(
            "/credentials", {"name": "walk", "type": "openai", "fields": {"api_key": "sk-walk"}}, names_ours=False
        ),
        ("GET", "/api/v1/credentials/{credential_id}"): Call(f"/credentials/{credential_id}"),
        ("PATCH", "/api/v1/credentials/{credential_id}"): Call(f"/credentials/{credential_id}", {"name": "taken"}),
        ("DELETE", "/api/v1/credentials/{credential_id}"): Call(f"/credentials/{credential_id}"),
    }


@pytest.fixture(scope="module")
def ours(v1_server: V1Server, keys: Keys) -> tuple[str, str, str]:
    """A workflow of the keys' workspace, a finished run of it and a credential: (workflow, run, credential ids)."""
    with client_for(v1_server, keys.editor) as client:
        credential = {"name": "ours", "type": "openai", "fields": {"api_key": "sk-ours"}}
        credential_id = client.post("/credentials", json=credential).json()["id"]
        workflow_id = client.post("/workflows/import", json=example("branch_if.json")).json()["id"]
        started = client.post("/runs", json={"workflow_id": workflow_id, "input": {"id": 1, "amount": 5}})
        run_id = started.json()["run_id"]
        deadline = time.monotonic() + 60
        while client.get(f"/runs/{run_id}").json()["status"] in {"queued", "running"}:
            assert time.monotonic() < deadline, "the run did not finish"
            time.sleep(0.2)
    return workflow_id, run_id, credential_id


def snapshot(v1_server: V1Server, keys: Keys, ours: tuple[str, str, str]) -> tuple[str, str, str]:
    """What the owner sees of the workflow, its runs and the credential (to prove nothing changed)."""
    workflow_id, _, credential_id = ours
    with client_for(v1_server, keys.editor) as client:
        runs = client.get("/runs", params={"workflow_id": workflow_id})
        credential = client.get(f"/credentials/{credential_id}")
        return client.get(f"/workflows/{workflow_id}").text, runs.text, credential.text


def test_the_walk_covers_every_v1_route(ours: tuple[str, str, str]) -> None:
    v1 = {key for key in ROUTES if key[1].startswith("/api/v1/") and "{path:path}" not in key[1]}
    v1 -= {("HEAD", path) for _, path in v1}
    assert v1 == set(calls(*ours))


def test_another_workspaces_key_gets_404_for_our_ids_and_never_sees_our_data(
    v1_server: V1Server, keys: Keys, ours: tuple[str, str, str]
) -> None:
    workflow_id, run_id, credential_id = ours
    before = snapshot(v1_server, keys, ours)
    with client_for(v1_server, keys.other) as client:
        for (method, template), call in calls(workflow_id, run_id, credential_id).items():
            answer = client.request(method, call.path, json=call.body)
            if call.names_ours:
                assert answer.status_code == 404, (method, template, answer.text)
            else:
                assert answer.status_code < 300, (method, template, answer.text)
                assert not {workflow_id, run_id, credential_id} & set(answer.text.split('"')), (method, template)
    assert snapshot(v1_server, keys, ours) == before


def test_a_viewer_key_is_refused_every_write_and_changes_nothing(
    v1_server: V1Server, keys: Keys, ours: tuple[str, str, str]
) -> None:
    workflow_id, run_id, credential_id = ours
    before = snapshot(v1_server, keys, ours)
    with client_for(v1_server, keys.viewer) as client:
        for (method, template), call in calls(workflow_id, run_id, credential_id).items():
            answer = client.request(method, call.path, json=call.body)
            expected = 403 if ROUTES[(method, template)] == "write" else 200
            assert answer.status_code == expected, (method, template, answer.text)
    assert snapshot(v1_server, keys, ours) == before
