"""Requests the routes cannot take still answer in the API's JSON error shape, with the right status."""

from __future__ import annotations

import httpx


def test_an_unknown_path_is_a_json_404_and_a_wrong_method_a_405_naming_the_allowed_ones(api: httpx.Client) -> None:
    missing = api.get("/nothing/here")
    wrong_method = api.put("/workflows/wf_anything")

    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "method_not_allowed")
    assert wrong_method.headers["Allow"] == "DELETE, GET, PATCH"


def test_a_body_that_is_not_json_is_refused_in_the_error_shape(api: httpx.Client) -> None:
    json_header = {"Content-Type": "application/json"}
    not_json = api.post("/workflows", content=b"{name: nope", headers=json_header)
    not_text = api.post("/workflows", content=b'{"name": "\xc3\x28"}', headers=json_header)

    assert (not_json.status_code, not_json.json()["error"]) == (422, "invalid_request")
    assert (not_text.status_code, not_text.json()["error"]) == (400, "bad_request")


def test_a_malformed_id_is_refused_before_any_lookup(api: httpx.Client) -> None:
    answer = api.get("/workflows/not an id!")

    assert (answer.status_code, answer.json()["error"]) == (422, "invalid_request")
    assert "workflow_id" in answer.json()["message"]


def test_a_misspelt_query_parameter_is_named_instead_of_ignored(api: httpx.Client) -> None:
    answer = api.get("/runs", params={"stauts": "failed"})

    assert (answer.status_code, answer.json()["error"]) == (422, "invalid_request")
    assert "stauts" in answer.json()["message"] and "status" in answer.json()["message"]


def test_nul_characters_are_refused_naming_where_they_are(api: httpx.Client) -> None:
    in_name = api.post("/workflows", json={"name": "a\x00b"})
    in_input = api.post("/runs", json={"workflow_id": "wf_x", "input": {"list": ["ok", "b\x00"]}})
    in_query = api.get("/runs", params={"workflow_id": "wf\x00"})

    assert [answer.status_code for answer in (in_name, in_input, in_query)] == [422, 422, 422]
    assert [answer.json()["field"] for answer in (in_name, in_input, in_query)] == [
        "name",
        "input.list.1",
        "workflow_id",
    ]
