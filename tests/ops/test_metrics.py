"""`GET /metrics` of a real server after a known mix of runs executed in a real `trellis worker` process."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.config import get_settings
from runtime.executor.dispatch import start_run, trigger_payload
from runtime.store import RunTrigger, ensure_local_workspace, get_engine, session_scope
from tests.ops.conftest import OpsServer
from tests.processes import free_port, start_worker, stop_group
from tests.runtime.executor.conftest import reset_caches, store_workflow
from tests.runtime.executor.test_in_process import document
from tests.runtime.executor.test_rq import wait_until_finished

SUCCEEDING, FAILING = 5, 3
ONLY_OK = {"type": "object", "properties": {"ok": {"const": True}}, "required": ["ok"]}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: OpsServer | str) -> Samples:
    """Every sample of the server's `/metrics` (or of the metrics URL given), keyed by (name, labels)."""
    answer = httpx.get(server if isinstance(server, str) else f"{server.url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def direct(ops_server: OpsServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This test process configured like the workers (PostgreSQL and Redis without the proxies)."""
    for name, setting in ops_server.env.items():
        monkeypatch.setenv(name, setting)
    reset_caches()
    with session_scope(get_engine()) as session:
        yield ensure_local_workspace(session).id
    reset_caches()


def test_the_web_scrape_counts_the_runs_and_node_runs_a_worker_executed(ops_server: OpsServer, direct: str) -> None:
    # Given a workflow whose trigger refuses inputs without ok=true, and no worker yet
    workflow_id = store_workflow(direct, document([
        {"id": "start", "type": "manual_trigger", "params": {"input_schema": ONLY_OK}},
        {"id": "shape", "type": "set", "params": {"fields": {"n": "{{ trigger.body.n }}"}}},
        {"id": "result", "type": "output", "params": {"value": "{{ nodes.shape.output.n }}"}},
    ]))  # fmt: skip
    inputs = [{"ok": True, "n": n} for n in range(SUCCEEDING)] + [{"ok": False}] * FAILING
    run_ids = [
        start_run(get_settings(), direct, workflow_id, trigger_payload(body), RunTrigger.API)[0] for body in inputs
    ]

    # When the runs wait in the queue, the queue gauges show them
    waiting = scrape(ops_server)
    assert value(waiting, "trellis_queue_jobs", state="queued") == len(run_ids)
    assert value(waiting, "trellis_queue_oldest_job_age_seconds") > 0
    assert value(waiting, "trellis_workflow_runs_total", status="succeeded", trigger="api") == 0

    # And a worker process executes them
    worker = start_worker(ops_server.env, "metrics-worker")
    try:
        wait_until_finished(run_ids, timeout_s=120)
        time.sleep(0.5)  # the worker counts the last run just after storing it
    finally:
        stop_group(worker)

    # Then the server's scrape sums what the worker counted
    done = scrape(ops_server)
    assert value(done, "trellis_workflow_runs_total", status="succeeded", trigger="api") == SUCCEEDING
    assert value(done, "trellis_workflow_runs_total", status="failed", trigger="api") == FAILING
    assert value(done, "trellis_workflow_run_duration_seconds_count", status="succeeded") == SUCCEEDING
    assert value(done, "trellis_workflow_run_duration_seconds_count", status="failed") == FAILING
    assert value(done, "trellis_node_runs_total", node_type="manual_trigger", status="succeeded") == SUCCEEDING
    assert value(done, "trellis_node_runs_total", node_type="manual_trigger", status="failed") == FAILING
    assert value(done, "trellis_node_runs_total", node_type="set", status="succeeded") == SUCCEEDING
    assert value(done, "trellis_node_runs_total", node_type="output", status="succeeded") == SUCCEEDING
    assert value(done, "trellis_node_duration_seconds_count", node_type="set") == SUCCEEDING
    assert value(done, "trellis_node_duration_seconds_bucket", node_type="set", le="+Inf") == SUCCEEDING
    assert value(done, "trellis_queue_jobs", state="queued") == 0
    assert value(done, "trellis_queue_oldest_job_age_seconds") == 0
    # And no label holds an id, a user or a URL
    label_values = {label for (name, labels) in done if name.startswith("trellis_") for _, label in labels}
    assert label_values >= {"succeeded", "failed", "api", "manual_trigger", "set", "output"}
    stored_id = re.compile(r"[a-z]+_[A-Za-z0-9]{20}")  # the shape of `runtime.store.new_id`
    assert [label for label in label_values if stored_id.fullmatch(label) or "://" in label or "@" in label] == []
    # And the worker wrote one set of files for all its runs
    written = sorted(path.name for path in Path(ops_server.env["TRELLIS_METRICS_DIR"]).glob("*.db"))
    assert written == [f"counter_{worker.pid}.db", f"histogram_{worker.pid}.db"]


def test_a_worker_answers_metrics_on_its_own_port_while_it_lives(ops_server: OpsServer, direct: str) -> None:
    workflow_id = store_workflow(direct, document([{"id": "start", "type": "manual_trigger"}]))
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    worker = start_worker(ops_server.env, "metrics-port-worker", "--metrics-port", str(port))
    try:
        before = value(scrape_when_up(url), "trellis_workflow_runs_total", status="succeeded", trigger="api")
        run_id = start_run(get_settings(), direct, workflow_id, trigger_payload({}), RunTrigger.API)[0]
        wait_until_finished([run_id], timeout_s=60)
        time.sleep(0.5)
        after = value(scrape(url), "trellis_workflow_runs_total", status="succeeded", trigger="api")
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
    finally:
        os.kill(worker.pid, signal.SIGTERM)  # the worker alone: it must stop its metrics child itself
        worker.wait(timeout=30)
    assert after - before == 1
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    time.sleep(1.5)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def scrape_when_up(url: str, within_s: float = 60) -> Samples:
    deadline = time.monotonic() + within_s
    while True:
        try:
            return scrape(url)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
