"""The OpenAPI document of the live server: complete, browsable at /api/docs, and true to what the API answers.

schemathesis generates requests from `/api/openapi.json` for every operation (valid and invalid ones)
and checks each answer: no 5xx, a declared status code, content type, headers and a body matching
the declared schema. Examples per operation are capped to keep the suite fast.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.v1_fixtures import V1Server, workspace_key

OPERATIONS = {
    ("get", "/api/v1/me"), ("get", "/api/v1/workflows"), ("post", "/api/v1/workflows"),
    ("get", "/api/v1/workflows/{workflow_id}"), ("patch", "/api/v1/workflows/{workflow_id}"),
    ("delete", "/api/v1/workflows/{workflow_id}"), ("get", "/api/v1/workflows/{workflow_id}/versions"),
    ("get", "/api/v1/workflows/{workflow_id}/versions/{number}"), ("post", "/api/v1/workflows/import"),
    ("get", "/api/v1/workflows/{workflow_id}/export"), ("post", "/api/v1/runs"), ("get", "/api/v1/runs"),
    ("get", "/api/v1/runs/{run_id}"), ("post", "/api/v1/runs/{run_id}/cancel"), ("get", "/api/v1/runs/{run_id}/events"),
    ("get", "/api/v1/credentials"), ("post", "/api/v1/credentials"), ("get", "/api/v1/credentials/{credential_id}"),
    ("patch", "/api/v1/credentials/{credential_id}"), ("delete", "/api/v1/credentials/{credential_id}"),
    ("get", "/api/v1/runs/{run_id}/approvals"), ("post", "/api/v1/runs/{run_id}/approvals/{node_id}"),
    ("post", "/api/v1/runs/{run_id}/resume"), ("post", "/api/v1/runs/{run_id}/replay"),
}  # fmt: skip
WITHOUT_INPUT = {("get", "/api/v1/me"), ("get", "/api/v1/workflows"), ("get", "/api/v1/credentials")}
"""Operations with no parameter or body: there is nothing to make invalid."""
MAX_EXAMPLES = int(os.environ.get("TRELLIS_TEST_FUZZ_EXAMPLES", "10"))
"""Generated requests per operation and mode: 10 finds shape errors and keeps the suite fast; raise it for a soak."""
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def test_the_schema_lists_every_route_behind_bearer_auth(v1_server: V1Server) -> None:
    document = httpx.get(f"{v1_server.url}/api/openapi.json").json()

    operations = {
        (method, path) for path, item in document["paths"].items() for method in item if path.startswith("/api/v1")
    }
    assert operations == OPERATIONS
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "An API key from `trellis apikey create`.",
    }  # fmt: skip
    for method, path in OPERATIONS:
        operation = document["paths"][path][method]
        assert operation["security"] == [{"apiKey": []}], (method, path)
        assert {"400", "401", "422"} <= set(operation["responses"]), (method, path)


def test_the_docs_page_offers_authorize(v1_server: V1Server) -> None:
    page = httpx.get(f"{v1_server.url}/api/docs")

    assert page.status_code == 200
    assert "swagger-ui" in page.text and "/api/openapi.json" in page.text


@pytest.fixture(scope="module")
def api_schema(v1_server: V1Server) -> BaseSchema:
    """The live server's schema, its requests sent to that server."""
    schema = schemathesis.openapi.from_url(f"{v1_server.url}/api/openapi.json")
    schema.config.update(base_url=v1_server.url)
    # The key is sent by the test itself; generated (and negated) Authorization headers would be overwritten
    # by it, turning a "negative" request into a valid one.
    schema.config.generation.update(with_security_parameters=False)
    return schema


@pytest.fixture(scope="module")
def fuzz_key(v1_server: V1Server) -> str:
    """An editor key of a workspace of its own, so generated workflows and runs stay out of other tests' way."""
    return workspace_key(v1_server, "schemathesis")[1]


def routable(case: Case) -> bool:
    """Whether the case's path parameters leave a path the app can route (no control characters)."""
    # schemathesis hands path parameters over percent-encoded.
    return not any(CONTROL.search(unquote(str(value))) for value in (case.path_parameters or {}).values())


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [(method, path, GenerationMode.POSITIVE) for method, path in sorted(OPERATIONS)]
    + [(method, path, GenerationMode.NEGATIVE) for method, path in sorted(OPERATIONS - WITHOUT_INPUT)],
)
def test_the_api_keeps_to_its_schema(
    api_schema: BaseSchema, fuzz_key: str, method: str, path: str, mode: GenerationMode
) -> None:
    # Parametrized by hand: schemathesis' lazy `from_fixture` loader does not run under pytest 9.
    operation = api_schema[path][method.upper()]
    auth = {"Authorization": f"Bearer {fuzz_key}"}

    # Not `positive_data_acceptance`: a schema-valid document can still name an unknown node type, and a
    # schema-valid cursor or event id can still be one the server never issued; both rightly answer 4xx.
    # Paths holding a control character are left out: Reflex's top-level mount (reflex/app.py, `mount("")`)
    # cannot route them and answers a plain-text 404 before this API sees the request.
    @given(case=operation.as_strategy(mode).filter(routable))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Case) -> None:
        case.call_and_validate(headers=auth, timeout=10, excluded_checks=[positive_data_acceptance])

    check()
