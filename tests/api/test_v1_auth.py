"""API keys on the live server: bearer only, refused when missing, wrong or revoked; viewers read only."""

from __future__ import annotations

import httpx
import pytest

from runtime.store import Role
from tests.api.v1_fixtures import Keys, V1Server, cli_key, client_for


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_me_names_the_key_its_workspace_and_role(api: httpx.Client, keys: Keys) -> None:
    me = api.get("/me").json()

    assert me["role"] == "editor"
    assert me["key_id"] in keys.editor
    assert me["workspace_id"] != keys.other_workspace_id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-trellis-key"},
        {"Authorization": "Bearer trellis_key_AAAAAAAAAAAAAAAAAAAA_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    ],
    ids=["missing", "basic", "empty", "malformed", "unknown"],
)
def test_requests_without_a_valid_bearer_key_get_401(v1_server: V1Server, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=f"{v1_server.url}/api/v1", headers=headers) as client:
        for method, path in [("GET", "/workflows"), ("POST", "/runs"), ("GET", "/runs/run_x/events")]:
            assert_unauthorized(client.request(method, path))


def test_a_key_with_a_wrong_secret_or_as_a_query_parameter_is_refused(v1_server: V1Server, keys: Keys) -> None:
    tampered = keys.editor[:-4] + ("AAAA" if not keys.editor.endswith("AAAA") else "BBBB")
    with client_for(v1_server, tampered) as client:
        assert_unauthorized(client.get("/workflows"))
    with client_for(v1_server, None) as client:
        assert_unauthorized(client.get("/workflows", params={"api_key": keys.editor}))


def test_a_revoked_key_is_refused_from_then_on_and_listed_as_revoked(v1_server: V1Server) -> None:
    key = cli_key(v1_server, "short-lived", Role.EDITOR)
    with client_for(v1_server, key) as client:
        key_id = client.get("/me").json()["key_id"]

        revoked = v1_server.trellis("apikey", "revoke", key_id)
        assert revoked.returncode == 0, revoked.stderr

        assert_unauthorized(client.get("/workflows"))
    listing = v1_server.trellis("apikey", "list").stdout
    line = next(line for line in listing.splitlines() if line.startswith(key_id))
    assert "revoked" in line and f"...{key[-4:]}" in line and "last used never" not in line
    assert key not in listing  # the secret is shown once, at creation, never again


def test_revoking_an_unknown_key_fails_clearly(v1_server: V1Server) -> None:
    result = v1_server.trellis("apikey", "revoke", "key_doesnotexist")

    assert result.returncode != 0
    assert "key_doesnotexist" in result.stderr


def test_a_viewer_key_reads_but_may_not_change_or_run(v1_server: V1Server, keys: Keys, api: httpx.Client) -> None:
    workflow = api.post("/workflows", json={"name": "Viewed"}).json()
    with client_for(v1_server, keys.viewer) as viewer:
        assert viewer.get("/workflows").status_code == 200
        assert viewer.get(f"/workflows/{workflow['id']}").status_code == 200
        assert viewer.get(f"/workflows/{workflow['id']}/versions").status_code == 200
        assert viewer.get(f"/workflows/{workflow['id']}/export").status_code == 200
        assert viewer.get("/runs").status_code == 200
        refused = [
            viewer.post("/workflows", json={"name": "Nope"}),
            viewer.patch(f"/workflows/{workflow['id']}", json={"name": "Renamed"}),
            viewer.delete(f"/workflows/{workflow['id']}"),
            viewer.post("/workflows/import", json=workflow["document"]),
            viewer.post("/runs", json={"workflow_id": workflow["id"]}),
            viewer.post("/runs/run_anything/cancel"),
        ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert {response.json()["error"] for response in refused} == {"forbidden"}
    assert api.get(f"/workflows/{workflow['id']}").json()["name"] == "Viewed"
