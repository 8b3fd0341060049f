"""`trellis cluster`'s processes (2 web, 3 workers, a scheduler; `runtime.cluster.running_cluster`) on real
PostgreSQL and Redis: webhooks sent to both web processes run on several workers, a canvas open on web 1
paints a run started on web 2 live, a worker killed with `kill -9` mid-load loses nothing, and stopping the
cluster leaves no process behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session

from runtime.cluster import Cluster, ClusterPlan, running_cluster
from runtime.config import Settings
from runtime.serve import PROJECT_ROOT, answers, port_in_use
from runtime.store import Role, ensure_local_workspace, make_engine
from runtime.webhooks import hook_url_for_node
from runtime.workflows import import_workflow
from tests.accounts import signed_in_member
from tests.chaos.conftest import FAST_LEASES
from tests.conftest import PgDatabases
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, new_tab
from tests.e2e.editor_helpers import node, open_editor
from tests.loopback import LoopbackServer
from tests.processes import free_port, kill_group
from tests.runtime.executor.test_in_process import document

REDIS_URL = os.environ.get("TRELLIS_TEST_QUEUE_REDIS_URL", "redis://127.0.0.1:6379/12")
STALE_PAGE_STATE = PROJECT_ROOT / ".states" / "left-by-an-earlier-run.pkl"
"""Reflex empties its page-state folder at start: two web processes sharing the checkout's raced to."""
LOAD = 60
"""Webhook calls of the load, half to each web process."""


@dataclass
class World:
    """The running cluster, its database, the two workflows' hook paths and the site their runs fetch."""

    cluster: Cluster
    stop: contextlib.ExitStack
    engine: sa.Engine
    database_url: str
    load_id: str
    load_hook: str
    """Path of the load workflow's webhook: it fetches the quick site."""
    watched_hook: str
    """Path of the watched workflow's webhook: it fetches the held site, which answers once released."""
    watched_id: str
    held: LoopbackServer


def fetching(site: LoopbackServer, name: str) -> dict[str, Any]:
    """`webhook_trigger -> http_request (site) -> output`, answering the webhook at once."""
    hook = {"respond": "immediately", "rate_limit_per_minute": 100_000, "rate_limit_burst": 100_000}
    return {**document([{"id": "hook", "type": "webhook_trigger", "params": hook},
                        {"id": "fetch", "type": "http_request", "params": {"url": site.url(), "timeout_s": 120}},
                        {"id": "result", "type": "output"}], timeout_s=300), "name": name}  # fmt: skip


def store_hooks(database_url: str, *documents: dict[str, Any]) -> list[tuple[str, str]]:
    """Store each document as a workflow of the local workspace: (workflow id, webhook path) each."""
    engine = make_engine(database_url)
    stored = []
    with Session(engine) as session:
        workspace_id = ensure_local_workspace(session).id
        for doc in documents:
            workflow = import_workflow(session, workspace_id, doc)
            url = hook_url_for_node(session, Settings(public_url="http://x"), workspace_id, workflow.id, "hook")
            assert url is not None
            stored.append((workflow.id, url.removeprefix("http://x")))
        session.commit()
    engine.dispose()
    return stored


@pytest.fixture(scope="module")
def world(make_pg_database: PgDatabases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The cluster on a fresh database and an emptied Redis database, with short leases so a killed
    worker's runs move on within seconds."""
    quick, held = LoopbackServer(delay_s=0.3), LoopbackServer(delay_s=120)
    database_url = make_pg_database()
    env = {"TRELLIS_DATABASE_URL": database_url, "TRELLIS_REDIS_URL": REDIS_URL, "TRELLIS_WORKER_CONCURRENCY": "4",
           "TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.1/32", **FAST_LEASES, "TRELLIS_WORKER_GRACE_S": "5",
           "TRELLIS_EGRESS_ALLOWED_PORTS": f"80,443,{quick.port},{held.port}"}  # fmt: skip
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    with pytest.MonkeyPatch.context() as patch, contextlib.ExitStack() as stop:
        for name, value in env.items():
            patch.setenv(name, value)
        plan = ClusterPlan(Settings(), tmp_path_factory.mktemp("cluster"), web_ports=two_free_ports(), web_workers=1)
        STALE_PAGE_STATE.parent.mkdir(exist_ok=True)
        STALE_PAGE_STATE.write_bytes(b"")  # as an earlier `make run` leaves them
        stop.callback(STALE_PAGE_STATE.unlink, missing_ok=True)
        cluster = stop.enter_context(running_cluster(plan))
        (load_id, load_hook), (watched_id, watched_hook) = store_hooks(
            database_url, fetching(quick, "load"), fetching(held, "watched")
        )
        engine = make_engine(database_url)
        yield World(cluster, stop, engine, database_url, load_id, load_hook, watched_hook, watched_id, held)
        engine.dispose()
    held.release()
    quick.close()
    held.close()
    client.flushdb()
    client.close()


def two_free_ports() -> tuple[int, int]:
    """Two different free ports, one per web process."""
    first = free_port()
    while (second := free_port()) == first:
        pass
    return first, second


def runs_by_number(engine: sa.Engine, workflow_id: str) -> dict[int, list[tuple[str, str, int]]]:
    """The workflow's runs by the `n` their webhook call sent: (status, lease owner, attempts) each."""
    query = sa.text("SELECT status, lease_owner, attempts, input FROM run WHERE workflow_id = :id")
    by_number: dict[int, list[tuple[str, str, int]]] = {}
    with engine.connect() as connection:
        for status, owner, attempts, payload in connection.execute(query, {"id": workflow_id}):
            by_number.setdefault(payload["body"]["n"], []).append((status, owner or "", attempts))
    return by_number


def test_page_states_an_earlier_run_left_do_not_trip_the_web_processes(world: World) -> None:
    # Both started (the fixture waited for them), and neither emptied the checkout's folder: each keeps its
    # page states under its own data folder.
    assert STALE_PAGE_STATE.exists()
    assert all(answers(f"{web.url}/readyz") for web in world.cluster.of_kind("web"))


def test_a_canvas_on_web_1_paints_a_run_started_on_web_2_live(world: World) -> None:
    web_1, web_2 = world.cluster.of_kind("web")
    with world.engine.connect() as connection:
        workspace_id = connection.execute(sa.text("SELECT workspace_id FROM workflow WHERE id = :id"),
                                          {"id": world.watched_id}).scalar_one()  # fmt: skip
    owner = signed_in_member(world.engine, "owner@cluster.example", Role.OWNER, workspace_id)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with new_tab(browser, web_1.url, owner) as page:
            open_editor(page, str(web_1.url), world.watched_id)
            # The tab's session lives in Redis, where every web process reads it, not in web 1's memory.
            assert redis.Redis.from_url(REDIS_URL).keys("*editor_state*")
            answer = httpx.post(f"{web_2.url}{world.watched_hook}", json={"n": "watched"}, timeout=30)
            assert answer.status_code == 202, answer.text

            # Painted while the run is still going: its fetch waits for the held site.
            expect(node(page, "fetch")).to_have_attribute("data-status", "running", timeout=20_000)
            expect(node(page, "hook")).to_have_attribute("data-status", "succeeded")
            expect(node(page, "result")).not_to_have_attribute("data-status", "succeeded")
            world.held.release()
            expect(node(page, "result")).to_have_attribute("data-status", "succeeded", timeout=20_000)
            expect(node(page, "fetch")).to_have_attribute("data-status", "succeeded")
        browser.close()


async def send_load(urls: list[str]) -> dict[int, int]:
    """POST `{"n": n}` to `urls[n]` for every n, 4 at a time; the answer's status code by n."""
    codes: dict[int, int] = {}
    numbers = iter(range(len(urls)))
    async with httpx.AsyncClient(timeout=60) as client:

        async def one_client() -> None:
            for n in numbers:
                codes[n] = (await client.post(urls[n], json={"n": n})).status_code

        await asyncio.gather(*(one_client() for _ in range(4)))
    return codes


async def kill_when_busy(world: World, name: str) -> set[int]:
    """`kill -9` the worker `name` once it runs something; the numbers of the runs it held then."""
    member = next(m for m in world.cluster.members if m.name == name)
    for _ in range(600):
        held = {n for n, runs in runs_by_number(world.engine, world.load_id).items()
                if any(status == "running" and owner.startswith(f"{name}~") for status, owner, _ in runs)}  # fmt: skip
        if held:
            await asyncio.to_thread(kill_group, member.process)
            return held
        await asyncio.sleep(0.05)
    pytest.fail(f"{name} never ran anything")


async def load_and_kill(world: World, urls: list[str]) -> tuple[dict[int, int], set[int]]:
    sender = asyncio.create_task(send_load(urls))
    held = await kill_when_busy(world, "worker-1")
    return await sender, held


def test_webhooks_to_both_web_processes_spread_over_workers_and_survive_a_killed_worker(world: World) -> None:
    webs = [member.url for member in world.cluster.of_kind("web")]
    urls = [f"{webs[n % 2]}{world.load_hook}" for n in range(LOAD)]

    codes, held_by_killed = asyncio.run(load_and_kill(world, urls))

    accepted = {n for n, code in codes.items() if code == 202}
    assert len(accepted) == LOAD, codes  # losing a worker does not stop the web processes from accepting
    runs = wait_until_ended(world, accepted)
    assert {n: [status for status, _, _ in runs[n]] for n in accepted} == {n: ["succeeded"] for n in accepted}
    workers = {owner.split("~")[0] for n in accepted for _, owner, _ in runs[n]}
    assert len(workers) >= 2, workers  # the survivors share the work; the killed one finished nothing it held
    for n in held_by_killed:
        status, owner, attempts = runs[n][0]
        assert not owner.startswith("worker-1~") and attempts >= 2, runs[n]


def wait_until_ended(world: World, numbers: set[int], timeout_s: float = 90) -> dict[int, list[tuple[str, str, int]]]:
    """The runs by number once none of `numbers` is queued or running any more (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs = runs_by_number(world.engine, world.load_id)
        going = [n for n in numbers if not runs.get(n) or runs[n][0][0] in ("queued", "running")]
        if not going or time.monotonic() > deadline:
            return runs
        time.sleep(0.2)


def test_stopping_the_cluster_leaves_nothing_running(world: World) -> None:
    members = world.cluster.members
    world.stop.close()

    for member in members:
        assert member.process.returncode is not None, member.name
        with pytest.raises(ProcessLookupError):
            os.killpg(member.process.pid, 0)  # no process of its group is left
    stopped = {m.name: m.process.returncode for m in members if m.name != "worker-1"}
    assert stopped == dict.fromkeys(stopped, 0)  # each stopped cleanly on SIGTERM
    for member in world.cluster.of_kind("web"):
        port = int(str(member.url).rsplit(":", 1)[1])
        assert not port_in_use(port), member.name  # the Reflex server of each web process is gone too
