"""`/api/v1/credentials` on a real server: write-only secrets (only `…1234` comes back), workspace scope,
viewer keys refused on writes and shown names only, errors in the one shape, the OpenAPI document."""

from __future__ import annotations

import httpx
from sqlmodel import Session, select

from runtime.store import AuditEvent, Credential, make_engine
from tests.api.v1_fixtures import Keys, V1Server, client_for, example

SECRET = "sk-rest-canary-5e6f7a8b9c"


def create(api: httpx.Client, name: str = "Team key", **fields: str) -> dict:
    body = {"name": name, "type": "openai", "fields": fields or {"api_key": SECRET, "base_url": "http://llm/v1"}}
    created = api.post("/credentials", json=body)
    assert created.status_code == 201, created.text
    return created.json()


def test_secrets_are_write_only(api: httpx.Client, v1_server: V1Server) -> None:
    created = create(api)

    assert created["masked"] == "…" + SECRET[-4:]
    assert created["fields"] == {"base_url": "http://llm/v1"} and created["type"] == "openai"
    fetched = api.get(f"/credentials/{created['id']}")
    listed = api.get("/credentials")
    for answer in (fetched, listed):
        assert answer.status_code == 200 and SECRET not in answer.text
    assert created["id"] in [item["id"] for item in listed.json()["items"]]
    engine = make_engine(v1_server.database_url)
    with Session(engine) as session:
        row = session.get(Credential, created["id"])
        assert SECRET not in row.ciphertext
        audits = session.exec(select(AuditEvent).where(AuditEvent.target_id == created["id"])).all()
        actions = [(audit.action, audit.details["via"].startswith("api_key:key_"), SECRET in str(audit.details))
                   for audit in audits]  # fmt: skip
    engine.dispose()
    assert actions == [("credential.created", True, False)]


def test_update_keeps_a_secret_left_out_and_replaces_a_given_one(api: httpx.Client) -> None:
    created = create(api, "Renamable")

    renamed = api.patch(f"/credentials/{created['id']}", json={"name": "Renamed", "fields": {"base_url": ""}})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["masked"], renamed.json()["fields"]) == (
        "Renamed",
        created["masked"],
        {},
    )

    replaced = api.patch(f"/credentials/{created['id']}", json={"fields": {"api_key": "sk-brand-new-0042"}})
    assert replaced.json()["masked"] == "…0042"


def test_delete_names_the_workflows_that_use_it(api: httpx.Client) -> None:
    credential = create(api, "In use")
    document = example("branch_if.json")
    document["nodes"].append({"id": "ask", "type": "llm", "type_version": 1, "params": {"model": "m", "prompt": "hi"},
                              "credentials": {"openai": credential["id"]}, "position": {"x": 0, "y": 300}})  # fmt: skip
    saved = api.post("/workflows", json={"document": document, "name": "Uses the key"})
    assert saved.status_code == 201, saved.text
    workflow = saved.json()
    assert api.get(f"/credentials/{credential['id']}").json()["used_by"] == [
        {"id": workflow["id"], "name": "Uses the key"}
    ]

    refused = api.delete(f"/credentials/{credential['id']}")
    assert refused.status_code == 409 and refused.json()["error"] == "credential_in_use"
    assert "Uses the key" in refused.json()["message"]

    assert api.delete(f"/credentials/{credential['id']}", params={"force": "true"}).status_code == 204
    assert api.get(f"/credentials/{credential['id']}").status_code == 404


def test_viewers_see_names_only_and_may_not_write(v1_server: V1Server, keys: Keys, api: httpx.Client) -> None:
    created = create(api, "Seen by viewers")
    with client_for(v1_server, keys.viewer) as viewer:
        seen = viewer.get(f"/credentials/{created['id']}").json()
        refused = [viewer.post("/credentials", json={"name": "x", "type": "openai", "fields": {"api_key": "k"}}),
                   viewer.patch(f"/credentials/{created['id']}", json={"name": "y"}),
                   viewer.delete(f"/credentials/{created['id']}")]  # fmt: skip
    shown = (seen["name"], seen["type"], seen["masked"], seen["fields"], seen["used_by"], seen["updated_by"])
    assert shown == ("Seen by viewers", "openai", None, None, None, None)
    assert [(answer.status_code, answer.json()["error"]) for answer in refused] == [(403, "forbidden")] * 3


def test_other_workspaces_cannot_see_or_touch_it(v1_server: V1Server, keys: Keys, api: httpx.Client) -> None:
    created = create(api, "Private")
    with client_for(v1_server, keys.other) as other:
        assert created["id"] not in other.get("/credentials").text
        assert other.get(f"/credentials/{created['id']}").status_code == 404
        assert other.patch(f"/credentials/{created['id']}", json={"name": "mine"}).status_code == 404
        assert other.delete(f"/credentials/{created['id']}").status_code == 404


def test_bad_input_names_the_field(api: httpx.Client) -> None:
    missing = api.post("/credentials", json={"name": "x", "type": "basic_auth", "fields": {"username": "ada"}})
    unknown_type = api.post("/credentials", json={"name": "x", "type": "ftp", "fields": {}})
    extra = api.post("/credentials", json={"name": "x", "type": "openai", "fields": {"api_key": "k", "org": "o"}})

    assert (missing.status_code, missing.json()["error"], missing.json()["field"]) == (
        422,
        "invalid_value",
        "fields.password",
    )
    assert (unknown_type.status_code, unknown_type.json()["field"]) == (422, "type")
    assert "ftp" in unknown_type.json()["message"] and "openai" in unknown_type.json()["message"]
    assert (extra.status_code, extra.json()["field"]) == (422, "fields.org")


def test_openapi_documents_the_credential_routes(api: httpx.Client, v1_server: V1Server) -> None:
    spec = httpx.get(f"{v1_server.url}/api/openapi.json", timeout=30).json()
    paths = spec["paths"]
    assert set(paths["/api/v1/credentials"]) == {"get", "post"}
    assert set(paths["/api/v1/credentials/{credential_id}"]) == {"get", "patch", "delete"}
    assert "409" in paths["/api/v1/credentials/{credential_id}"]["delete"]["responses"]
    assert "http_header" in str(spec["components"]["schemas"]["CredentialCreate"])
