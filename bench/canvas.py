"""Canvas benchmark: a 500-node workflow in Chromium against a real `trellis serve` (prod build).

Prints, as medians of `--repeats` page loads:
- time to interactive: navigation start until every node is on the canvas and the pane takes input;
- bytes the server sends over the websocket for one node status change (budget: under 1 KB);
- time for 500 status changes (events appended to the run's Redis stream) to paint on the canvas.

Usage: `.venv/bin/python bench/canvas.py [--nodes 500] [--repeats 3] [--screenshots DIR]` with
Redis on loopback (`TRELLIS_BENCH_REDIS_URL`, default db 13) and Debian's Chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.events import RedisEventStream  # noqa: E402
from runtime.executor.dispatch import create_run, trigger_payload  # noqa: E402
from runtime.store import (  # noqa: E402
    RunStatus,
    RunTrigger,
    create_workflow,
    ensure_local_workspace,
    make_engine,
    session_scope,
    upgrade_database,
)
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

REDIS_URL = os.environ.get("TRELLIS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TRELLIS = str(Path(sys.executable).with_name("trellis"))
COLUMNS = 25


def grid_document(count: int) -> dict[str, Any]:
    """A manual trigger and `count - 1` set nodes in a chain, laid out in a grid."""
    nodes = [{"id": "n0", "type": "manual_trigger", "type_version": 1, "title": "Start", "position": {"x": 0, "y": 0}}]
    for i in range(1, count):
        nodes.append({"id": f"n{i}", "type": "set", "type_version": 1, "title": f"Step {i}",
                      "params": {"fields": {"i": str(i)}},
                      "position": {"x": 240 * (i % COLUMNS), "y": 110 * (i // COLUMNS)}})  # fmt: skip
    edges = [{"id": f"e{i}", "source": f"n{i - 1}", "target": f"n{i}"} for i in range(1, count)]
    return {"format": "trellis.workflow", "format_version": 1, "name": f"{count} nodes", "nodes": nodes,
            "edges": edges}  # fmt: skip


def start_server(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "TRELLIS_DATA_DIR": str(data_dir), "TRELLIS_PORT": str(port), "TRELLIS_REDIS_URL": REDIS_URL}
    process = subprocess.Popen([TRELLIS, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if "is ready at" in line:
            return process
    raise SystemExit(f"trellis serve did not start; see {data_dir / 'serve.log'}")


def new_running_run(database_url: str, workspace_id: str, workflow_id: str) -> str:
    """A run of the workflow marked running, so the editor follows its event stream."""
    with session_scope(make_engine(database_url)) as session:
        run = create_run(session, workspace_id, workflow_id, trigger_payload({}), RunTrigger.MANUAL)
        run.status = RunStatus.RUNNING
        return run.id


async def append_events(run_id: str, node_ids: list[str], event_type: str) -> None:
    stream = RedisEventStream(REDIS_URL)
    try:
        for node_id in node_ids:
            await stream.append(run_id, event_type, node_id, {"attempt": 1})
    finally:
        await stream.close()


def append_in_thread(run_id: str, node_ids: list[str], event_type: str) -> None:
    """Append events from a worker thread: Playwright's sync API keeps a loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, append_events(run_id, node_ids, event_type)).result()


def all_painted(page: Page, count: int, status: str) -> None:
    page.wait_for_function(
        "([n, s]) => document.querySelectorAll(`[data-status='${s}']`).length >= n", arg=[count, status],
        timeout=60_000,
    )  # fmt: skip


def measure_once(page: Page, url: str, run_id: str, count: int, shots: Path | None, index: int) -> dict[str, float]:
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function("n => document.querySelectorAll('.react-flow__node').length >= n", arg=count,
                           timeout=60_000)  # fmt: skip
    page.locator(".react-flow__pane").wait_for()
    interactive = time.perf_counter() - started
    if shots:
        page.screenshot(path=str(shots / f"canvas-{count}-open-{index}.png"))

    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id(f"run-row-{run_id}").click()
    all_painted(page, count, "queued")
    page.wait_for_timeout(300)
    frames.clear()
    append_in_thread(run_id, ["n1"], "node_started")
    page.wait_for_selector("[data-testid=node-n1][data-status=running]")
    page.wait_for_timeout(300)  # Playwright reports frames only while it is called (reflex-canvas.md pitfall 14)
    one_change = [len(frame.encode()) for frame in frames if "status_changes" in frame]

    ids = [f"n{i}" for i in range(count)]
    started = time.perf_counter()
    append_in_thread(run_id, ids, "node_finished")
    all_painted(page, count, "succeeded")
    paint_all = time.perf_counter() - started
    if shots:
        page.screenshot(path=str(shots / f"canvas-{count}-painted-{index}.png"))
    return {"interactive_s": interactive, "one_change_bytes": float(sum(one_change)), "paint_all_s": paint_all}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args()
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trellis-bench-canvas-") as tmp:
        data_dir = Path(tmp)
        database_url = f"sqlite:///{data_dir / 'trellis.db'}"
        upgrade_database(database_url)
        with session_scope(make_engine(database_url)) as session:
            workspace_id = ensure_local_workspace(session).id
            workflow_id = create_workflow(session, workspace_id, grid_document(args.nodes)).id
        port = free_port()
        server = start_server(data_dir, port)
        try:
            results = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for index in range(args.repeats):
                    run_id = new_running_run(database_url, workspace_id, workflow_id)
                    context = browser.new_context(viewport={"width": 1440, "height": 900})
                    page = context.new_page()
                    url = f"http://localhost:{port}/workflows/{workflow_id}"
                    results.append(measure_once(page, url, run_id, args.nodes, args.screenshots, index))
                    context.close()
                browser.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    for key, unit in (("interactive_s", "s"), ("one_change_bytes", "B"), ("paint_all_s", "s")):
        values = [r[key] for r in results]
        print(f"{key:18} median {statistics.median(values):9.3f} {unit}   all: {', '.join(f'{v:.3f}' for v in values)}")


if __name__ == "__main__":
    main()
