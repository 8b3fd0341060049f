"""`POST /api/hooks/{hook_id}` against a real server, in the default mode and in queue mode: every
`respond` mode, body handling, authentication, idempotency, rate limits and status codes."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx
import pytest

from tests.api.conftest import Trellis
from tests.api.helpers import echo, signed_headers, sse_events
from tests.ops.test_metrics import scrape

SECRET_OLD = "whsec_" + "b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZA=="
SECRET_NEW = "whsec_" + "bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldw=="
SECRET_UNKNOWN = "whsec_" + "dW5rbm93bi1zZWNyZXQtdW5rbm93bg=="


@pytest.fixture
def client() -> httpx.Client:
    with httpx.Client(timeout=30) as client:
        yield client


def wait_for_status(trellis: Trellis, run_id: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while (status := trellis.run_row(run_id)["status"]) in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
    return str(status)


def test_immediately_answers_202_once_the_run_is_stored(trellis: Trellis, client: httpx.Client) -> None:
    url = trellis.hook([echo()], respond="immediately")

    response = client.post(f"{url}?source=test", json={"n": 1}, headers={"X-Custom": "yes"})

    assert response.status_code == 202
    run_id = response.json()["run_id"]
    assert response.json()["status_url"] == f"{trellis.server.url}/api/v1/runs/{run_id}"
    # The row exists the moment the answer arrives, with the request as the trigger payload.
    stored = trellis.run_row(run_id)
    assert stored["input"]["body"] == {"n": 1} and stored["input"]["query"] == {"source": "test"}
    assert stored["input"]["headers"]["x-custom"] == "yes"
    assert wait_for_status(trellis, run_id) == "succeeded"


def test_when_finished_answers_with_the_output_value(trellis: Trellis, client: httpx.Client) -> None:
    url = trellis.hook([echo()], respond="when_finished")

    response = client.post(f"{url}?page=2", json={"name": "Ada"}, headers={"X-Custom": "yes"})

    assert response.status_code == 200
    answer = response.json()
    assert answer["body"] == {"name": "Ada"} and answer["query"] == {"page": "2"}
    assert answer["headers"]["x-custom"] == "yes"


def test_when_finished_answers_202_when_the_run_outlasts_the_wait(trellis: Trellis, client: httpx.Client) -> None:
    slow_fetch = {"id": "fetch", "type": "http_request", "params": {"url": trellis.slow.url("/slow")}}
    url = trellis.hook([slow_fetch], respond="when_finished", wait_s=1)

    started = time.monotonic()
    response = client.post(url, json={})

    assert response.status_code == 202 and time.monotonic() - started < 2.5
    assert wait_for_status(trellis, response.json()["run_id"]) == "succeeded"


def test_a_failed_run_answers_500_naming_the_node(trellis: Trellis, client: httpx.Client) -> None:
    broken = {"id": "result", "type": "output", "params": {"value": "{{ trigger.body.missing }}"}}
    url = trellis.hook([broken], respond="when_finished")

    response = client.post(url, json={})

    assert response.status_code == 500
    answer = response.json()
    assert answer["error"] == "run_failed" and answer["node_id"] == "result" and answer["run_status"] == "failed"
    assert "missing" in answer["message"]


def test_stream_sends_the_run_events_until_it_ends(trellis: Trellis, client: httpx.Client) -> None:
    url = trellis.hook([echo()], respond="stream")

    response = client.post(url, content=b"hello", headers={"content-type": "text/plain"})

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    assert [e["type"] for e in events][0] == "run_started" and events[-1]["type"] == "run_finished"
    assert events[-1]["data"]["output"]["body"] == "hello"
    assert {e["node_id"] for e in events if e["type"] == "node_finished"} == {"hook", "result"}


def test_the_body_is_parsed_by_its_content_type_only(trellis: Trellis, client: httpx.Client) -> None:
    url = trellis.hook([echo()], respond="when_finished")

    form = client.post(url, content=b"a=1&b=x&b=y", headers={"content-type": "application/x-www-form-urlencoded"})
    text = client.post(url, content="grüße".encode(), headers={"content-type": "text/plain; charset=utf-8"})
    # A JSON structure naming files stays data (n8n "Ni8mare", CVE-2026-21858).
    files = {"files": {"upload": {"filepath": "/etc/passwd", "mimetype": "text/plain"}}}
    as_json = client.post(url, json=files)
    xml = client.post(url, content=b"<a/>", headers={"content-type": "application/xml"})
    untyped = client.post(url, content=b'{"a": 1}', headers={"content-type": ""})
    broken = client.post(url, content=b'{"a": ', headers={"content-type": "application/json"})

    assert form.json()["body"] == {"a": "1", "b": ["x", "y"]}
    assert text.json()["body"] == "grüße"
    assert as_json.json()["body"] == files
    assert (xml.status_code, xml.json()["error"]) == (415, "unsupported_media_type")
    assert untyped.status_code == 415
    assert (broken.status_code, broken.json()["error"]) == (400, "invalid_body")


def test_bodies_over_the_limit_answer_413_declared_or_chunked(trellis: Trellis, client: httpx.Client) -> None:
    url = trellis.hook([echo()], respond="immediately", max_body_bytes=1000)

    declared = client.post(url, content=b"x" * 1001, headers={"content-type": "text/plain"})
    chunked = client.post(url, content=iter([b"x" * 600, b"x" * 600]), headers={"content-type": "text/plain"})
    fits = client.post(url, content=b"x" * 1000, headers={"content-type": "text/plain"})

    assert (declared.status_code, declared.json()["error"]) == (413, "payload_too_large")
    assert chunked.status_code == 413
    assert fits.status_code == 202
    assert trellis.run_count(url) == 1


def test_unknown_and_disabled_hooks_answer_the_same_404(trellis: Trellis, client: httpx.Client) -> None:
    disabled = trellis.hook([echo()])
    trellis.remove_hook_node(disabled)
    unknown = disabled[:-6] + "AAAAAA"

    def timed(url: str) -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        response = client.post(url, json={})
        return time.perf_counter() - started, response

    samples = {url: [timed(url) for _ in range(15)] for url in (disabled, unknown)}
    answers = {(r.status_code, r.content) for results in samples.values() for _, r in results}
    assert answers == {(404, b'{"error":"not_found","message":"No webhook answers at this address."}')}
    medians = [statistics.median(t for t, _ in results) for results in samples.values()]
    assert abs(medians[0] - medians[1]) < 0.015, medians
    assert trellis.run_count(disabled) == 0


def test_methods_other_than_post_answer_405(trellis: Trellis, client: httpx.Client) -> None:
    url = trellis.hook([echo()])
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = client.request(method, url)
        assert (response.status_code, response.json()["error"]) == (405, "method_not_allowed"), method
        assert response.headers["allow"] == "POST"


def test_webhook_answers_are_counted_by_status_code_on_metrics(trellis: Trellis, client: httpx.Client) -> None:
    url = trellis.hook([echo()], respond="immediately")
    metrics_url = f"{trellis.server.url}/metrics"
    counted = {code: ("trellis_webhook_requests_total", frozenset({("code", code)})) for code in ("202", "405")}
    before = scrape(metrics_url)

    assert [client.post(url, json={}).status_code for _ in range(3)] == [202, 202, 202]
    assert client.get(url).status_code == 405

    after = scrape(metrics_url)
    assert after[counted["202"]] - before.get(counted["202"], 0) == 3
    assert after[counted["405"]] - before.get(counted["405"], 0) == 1


def test_a_header_token_hook_needs_its_token(trellis: Trellis, client: httpx.Client) -> None:
    token = "tok-" + "7" * 40
    trellis.secrets_sent.append(token)
    url = trellis.hook([echo()], credential={"token": token}, auth="header_token", respond="when_finished")

    missing = client.post(url, json={})
    wrong = client.post(url, json={}, headers={"X-Webhook-Token": token[:-1] + "8"})
    right = client.post(url, json={}, headers={"X-Webhook-Token": token})

    assert (missing.status_code, missing.json()["error"]) == (401, "bad_token")
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "x-webhook-token" not in right.json()["headers"]  # never stored with the run
    assert trellis.run_count(url) == 1


def test_hmac_signatures_rotation_window_and_replay(trellis: Trellis, client: httpx.Client) -> None:
    url = trellis.hook([echo()], credential={"secrets": [SECRET_NEW, SECRET_OLD]}, auth="hmac", respond="when_finished")
    body = json.dumps({"event": "paid"}).encode()

    def post(headers: dict[str, str]) -> httpx.Response:
        trellis.secrets_sent.append(headers.get("webhook-signature", "")[3:])
        return client.post(url, content=body, headers=headers)

    with_new, with_old = post(signed_headers(SECRET_NEW, body)), post(signed_headers(SECRET_OLD, body))
    unknown = post(signed_headers(SECRET_UNKNOWN, body))
    stale = post(signed_headers(SECRET_NEW, body, age_s=301))
    recent = post(signed_headers(SECRET_NEW, body, age_s=298))
    unsigned = client.post(url, content=body, headers={"content-type": "application/json"})
    tampered_headers = signed_headers(SECRET_NEW, body)
    tampered = client.post(url, content=body.replace(b"paid", b"free"), headers=tampered_headers)

    assert with_new.status_code == with_old.status_code == recent.status_code == 200
    assert with_new.json()["body"] == {"event": "paid"} and "webhook-signature" not in with_new.json()["headers"]
    assert (unknown.status_code, unknown.json()["error"]) == (401, "bad_signature")
    assert (stale.status_code, stale.json()["error"]) == (401, "stale_timestamp")
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "missing_signature")
    assert (tampered.status_code, tampered.json()["error"]) == (401, "bad_signature")
    runs_before = trellis.run_count(url)

    # The same delivery again (same webhook-id): the first answer, no new run.
    headers = signed_headers(SECRET_NEW, body)
    first, again = post(headers), post(headers)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert trellis.run_count(url) == runs_before + 1


def test_fifty_concurrent_identical_deliveries_start_exactly_one_run(trellis: Trellis) -> None:
    url = trellis.hook([echo()], respond="immediately", rate_limit_per_minute=1000, rate_limit_burst=1000)

    async def deliver_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            calls = [client.post(url, json={"order": 7}, headers={"Idempotency-Key": "order-7"}) for _ in range(50)]
            return await asyncio.gather(*calls)

    responses = asyncio.run(deliver_all())

    assert [r.status_code for r in responses] == [202] * 50
    assert len({r.json()["run_id"] for r in responses}) == 1
    assert trellis.run_count(url) == 1
    reused = httpx.post(url, json={"order": 8}, headers={"Idempotency-Key": "order-7"}, timeout=30)
    assert (reused.status_code, reused.json()["error"]) == (422, "idempotency_key_reused")


def test_a_hundred_calls_in_a_second_are_mostly_refused_with_retry_after(trellis: Trellis) -> None:
    url = trellis.hook([echo()], respond="immediately")  # 60 a minute, burst 20

    async def hundred_calls() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=20)) as client:
            return await asyncio.gather(*(client.post(url, json={"i": i}) for i in range(100)))

    started = time.monotonic()
    responses = asyncio.run(hundred_calls())

    assert time.monotonic() - started < 5
    refused = [r for r in responses if r.status_code == 429]
    assert len(refused) >= 70
    assert all(r.headers["retry-after"].isdigit() and int(r.headers["retry-after"]) >= 1 for r in refused)
    assert all(r.json()["error"] == "rate_limited" for r in refused)
    assert trellis.run_count(url) == len([r for r in responses if r.status_code == 202]) <= 20


def test_tokens_and_signatures_never_reach_the_log(trellis: Trellis) -> None:
    """Runs last in the module: everything the tests above sent is checked against the server log."""
    log = trellis.log.read_text(errors="replace")
    assert log.strip(), "the server wrote no log at all"
    leaks = [secret for secret in trellis.secrets_sent if secret and secret in log]
    assert leaks == []
    assert len(trellis.secrets_sent) > 10
