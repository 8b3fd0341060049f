"""Workflows, versions, import and export through `/api/v1`, scoped to the key's workspace."""

from __future__ import annotations

import copy

import httpx

from tests.api.v1_fixtures import Keys, V1Server, client_for, example


def test_create_from_a_document_then_read_list_and_export_it(api: httpx.Client) -> None:
    document = example("branch_if.json")

    created = api.post("/workflows", json={"document": document})

    assert created.status_code == 201, created.text
    workflow = created.json()
    assert created.headers["Location"] == f"/api/v1/workflows/{workflow['id']}"
    assert (workflow["name"], workflow["latest_version"]) == (document["name"], 1)
    assert [node["id"] for node in workflow["document"]["nodes"]] == [node["id"] for node in document["nodes"]]
    assert api.get(f"/workflows/{workflow['id']}").json() == workflow
    assert workflow["id"] in [item["id"] for item in api.get("/workflows").json()["items"]]
    exported = api.get(f"/workflows/{workflow['id']}/export")
    assert exported.json() == workflow["document"]
    assert exported.headers["Content-Disposition"] == 'attachment; filename="Route-an-order-by-amount.json"'


def test_create_with_only_a_name_makes_a_starter_workflow(api: httpx.Client) -> None:
    workflow = api.post("/workflows", json={"name": "  Fresh  "}).json()

    assert workflow["name"] == "Fresh"
    assert [node["type"] for node in workflow["document"]["nodes"]] == ["manual_trigger", "output"]


def test_create_refuses_an_empty_request_and_a_blank_name(api: httpx.Client) -> None:
    empty = api.post("/workflows", json={})
    blank = api.post("/workflows", json={"name": "   "})

    assert (empty.status_code, empty.json()["error"]) == (422, "invalid_request")
    assert (blank.status_code, blank.json()["error"]) == (422, "workflow_invalid")
    assert [issue["field"] for issue in blank.json()["issues"]] == ["name"]


def test_update_renames_and_saves_new_versions_keeping_the_old_ones(api: httpx.Client) -> None:
    workflow = api.post("/workflows", json={"name": "Draft"}).json()
    changed = copy.deepcopy(workflow["document"])
    changed["description"] = "second take"

    saved = api.patch(f"/workflows/{workflow['id']}", json={"document": changed, "note": "tweak"})
    renamed = api.patch(f"/workflows/{workflow['id']}", json={"name": "Final"})

    assert saved.status_code == 200, saved.text
    assert saved.json()["latest_version"] == 2
    assert saved.json()["document"]["description"] == "second take"
    assert (renamed.json()["name"], renamed.json()["latest_version"]) == ("Final", 2)
    versions = api.get(f"/workflows/{workflow['id']}/versions").json()["items"]
    assert [(version["number"], version["note"]) for version in versions] == [(2, "tweak"), (1, None)]
    first = api.get(f"/workflows/{workflow['id']}/versions/1").json()
    assert first["document"] == workflow["document"]
    assert api.get(f"/workflows/{workflow['id']}/versions/3").status_code == 404


def test_an_invalid_document_is_refused_with_every_problem_and_nothing_saved(api: httpx.Client) -> None:
    workflow = api.post("/workflows", json={"name": "Kept"}).json()
    broken = copy.deepcopy(workflow["document"])
    broken["nodes"].append({**broken["nodes"][0], "type": "no_such_node"})  # duplicate id and unknown type
    broken["edges"].append({"id": "dangling", "source": "ghost", "target": "result"})

    answers = [
        api.patch(f"/workflows/{workflow['id']}", json={"document": broken}),
        api.post("/workflows", json={"document": broken}),
        api.post("/workflows/import", json=broken),
    ]

    for answer in answers:
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["error"] == "workflow_invalid"
        assert len(body["issues"]) >= 2
        assert any(issue["value"] == "ghost" for issue in body["issues"])
    assert api.get(f"/workflows/{workflow['id']}").json()["latest_version"] == 1
    assert "Kept" in [item["name"] for item in api.get("/workflows").json()["items"]]


def test_import_takes_an_exported_file_and_rejects_what_is_not_json(api: httpx.Client) -> None:
    source = api.post("/workflows", json={"document": example("loop_status.json")}).json()
    exported = api.get(f"/workflows/{source['id']}/export").content

    imported = api.post("/workflows/import", content=exported, headers={"Content-Type": "application/json"})
    garbage = api.post("/workflows/import", content=b"{not json", headers={"Content-Type": "application/json"})

    assert imported.status_code == 201, imported.text
    assert imported.json()["id"] != source["id"]
    assert imported.json()["document"] == source["document"]
    assert (garbage.status_code, garbage.json()["error"]) == (422, "workflow_invalid")


def test_delete_removes_the_workflow(api: httpx.Client) -> None:
    workflow = api.post("/workflows", json={"name": "Doomed"}).json()

    deleted = api.delete(f"/workflows/{workflow['id']}")

    assert deleted.status_code == 204
    assert api.get(f"/workflows/{workflow['id']}").status_code == 404
    assert api.delete(f"/workflows/{workflow['id']}").status_code == 404


def test_another_workspace_sees_none_of_these_workflows(api: httpx.Client, v1_server: V1Server, keys: Keys) -> None:
    workflow = api.post("/workflows", json={"name": "Private"}).json()
    path = f"/workflows/{workflow['id']}"

    with client_for(v1_server, keys.other) as other:
        listed = other.get("/workflows").json()["items"]
        answers = [
            other.get(path), other.patch(path, json={"name": "Stolen"}), other.delete(path),
            other.get(f"{path}/versions"), other.get(f"{path}/versions/1"), other.get(f"{path}/export"),
            other.post("/runs", json={"workflow_id": workflow["id"]}),
        ]  # fmt: skip

    assert workflow["id"] not in [item["id"] for item in listed]
    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert {answer.json()["error"] for answer in answers} == {"not_found"}
    assert api.get(path).json()["name"] == "Private"
