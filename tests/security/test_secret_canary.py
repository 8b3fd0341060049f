"""The canary secret never leaves the ciphertext.

A credential holding a unique canary is used by real runs (an `http_request` node with a header token,
an `llm` node against the scripted OpenAI server, and failing runs of both, one OpenAI answer even
repeating the key) in queue mode (PostgreSQL, Redis, a real `trellis worker`) and in the default mode
(SQLite, in-process). Then the canary is searched for everywhere it could leak: the database dump,
the workflow export, every server and worker log, the stored node inputs/outputs and errors, the
run's event stream, and the REST answers for the credential and the runs. It is found nowhere, while
the servers prove it was really sent.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from sqlmodel import Session

from runtime.store import make_engine
from runtime.store.accounts import ensure_local_workspace
from runtime.store.api_keys import create_api_key
from runtime.store.migrate import ensure_database
from tests.api.v1_runs import stream, wait_for
from tests.conftest import PgDatabases
from tests.openai_server import OpenAIServer, error_reply, text_reply
from tests.processes import TRELLIS, running_server, stop_group, trellis_env

CANARY = f"canary-{uuid.uuid4().hex}"
QUEUE_REDIS_URL = os.environ.get("TRELLIS_TEST_QUEUE_REDIS_URL", "redis://127.0.0.1:6379/15")


class RecordingSite:
    """A loopback site that records the headers it gets and never echoes them: 200 `{"ok": true}`, 401 on /deny."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.headers.append({name.lower(): value for name, value in self.headers.items()})
                status, body = (401, b'{"error": "denied"}') if self.path == "/deny" else (200, b'{"ok": true}')
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Deployment:
    """A running Trellis, its REST client and where it keeps its data."""

    mode: str
    api: httpx.Client
    database_url: str
    data_dir: Path
    logs: list[Path]
    env: dict[str, str]


def workflow(name: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """A chain of `nodes` after a manual trigger."""
    chained = [{"id": "start", "type": "manual_trigger", "params": {}}, *nodes]
    for index, node in enumerate(chained):
        node.update(type_version=1, position={"x": 260 * index, "y": 0})
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]} for i, (a, b) in enumerate(itertools.pairwise(chained))
    ]
    return {"format": "trellis.workflow", "format_version": 1, "name": name, "nodes": chained, "edges": edges}


@contextlib.contextmanager
def deployment(mode: str, database_url: str, data_dir: Path, ports: list[int]) -> Iterator[Deployment]:
    """`trellis serve` (plus a `trellis worker` logging to a file in queue mode) and an editor API key."""
    env = {"TRELLIS_SSRF_ALLOWED_CIDRS": "127.0.0.1/32",
           "TRELLIS_EGRESS_ALLOWED_PORTS": ",".join(map(str, [80, 443, *ports]))}  # fmt: skip
    if mode == "queue":
        redis.Redis.from_url(QUEUE_REDIS_URL).flushdb()
        env["TRELLIS_REDIS_URL"] = QUEUE_REDIS_URL
    ensure_database(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        key = create_api_key(session, ensure_local_workspace(session).id, "canary test").plaintext
        session.commit()
    engine.dispose()
    logs = [data_dir / "serve.log"]
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(running_server(database_url, data_dir, env))
        worker_env = {**env, "TRELLIS_DATABASE_URL": database_url, "TRELLIS_DATA_DIR": str(data_dir)}
        if mode == "queue":
            log = stack.enter_context((data_dir / "worker.log").open("wb"))
            worker = subprocess.Popen([TRELLIS, "worker", "--name", "canary"], env=trellis_env(**worker_env),
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
            stack.callback(stop_group, worker)
            logs.append(data_dir / "worker.log")
        api = stack.enter_context(httpx.Client(base_url=f"{server.url}/api/v1", timeout=30,
                                               headers={"Authorization": f"Bearer {key}"}))  # fmt: skip
        yield Deployment(mode, api, database_url, data_dir, logs, worker_env)


@pytest.fixture(params=["queue-postgresql", "default-sqlite"])
def trellis(
    request: pytest.FixtureRequest, tmp_path: Path, openai_server: OpenAIServer
) -> Iterator[tuple[Deployment, RecordingSite, OpenAIServer]]:
    mode, database = request.param.split("-")
    if database == "postgresql":
        databases: PgDatabases = request.getfixturevalue("make_pg_database")
        url = databases()
    else:
        url = f"sqlite:///{tmp_path / 'trellis.db'}"
    site = RecordingSite()
    openai_port = int(httpx.URL(openai_server.base_url).port or 0)
    with deployment(mode, url, tmp_path / "data", [site.port, openai_port]) as running:
        yield running, site, openai_server
    site.close()


def database_dump(deployment: Deployment) -> str:
    """Every row of the database as text: `pg_dump`, or the SQLite file's bytes plus its `.dump`."""
    url = sa.make_url(deployment.database_url)
    if url.get_backend_name() == "postgresql":
        dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-U", url.username or "postgres",
                               str(url.database)], capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
        return dump.stdout
    path = Path(str(url.database))
    connection = sqlite3.connect(path)
    try:
        text = "\n".join(connection.iterdump())
    finally:
        connection.close()
    files = [path, *path.parent.glob(path.name + "-*")]  # the WAL too
    return text + "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())


def test_the_canary_is_nowhere(trellis: tuple[Deployment, RecordingSite, OpenAIServer]) -> None:
    running, site, openai = trellis
    api = running.api
    header = api.post("/credentials", json={"name": "Canary header", "type": "http_header",
                                            "fields": {"header": "X-Canary-Auth", "token": CANARY}})  # fmt: skip
    key = api.post("/credentials", json={"name": "Canary OpenAI", "type": "openai",
                                         "fields": {"api_key": CANARY, "base_url": openai.base_url}})  # fmt: skip
    assert header.status_code == key.status_code == 201, (header.text, key.text)
    header_id, key_id = header.json()["id"], key.json()["id"]
    site_url = f"http://127.0.0.1:{site.port}"

    def fetch(path: str) -> dict[str, Any]:
        return {"id": "fetch", "type": "http_request", "params": {"url": site_url + path},
                "credentials": {"auth": header_id}}  # fmt: skip

    def ask() -> dict[str, Any]:
        return {"id": "ask", "type": "llm", "params": {"model": "gpt-4o-mini", "prompt": "Say hi"},
                "credentials": {"openai": key_id}}  # fmt: skip

    good = workflow("Canary good", [fetch("/ok"), ask(), {"id": "result", "type": "output", "params": {}}])
    denied = workflow("Canary denied", [fetch("/deny")])
    refused = workflow("Canary refused", [ask()])
    forbidden = workflow("Canary forbidden", [ask()])
    workflow_ids = []
    for document in (good, denied, refused, forbidden):
        created = api.post("/workflows", json={"document": document})
        assert created.status_code == 201, created.text
        workflow_ids.append(created.json()["id"])

    # The model server repeats the key in its refusals, as careless servers do: the run's error must not.
    openai.queue(
        text_reply("Hello", " there"), error_reply(401, f"Incorrect API key: {CANARY}", code="invalid_api_key")
    )
    openai.always(error_reply(403, f"The key {CANARY} may not use this model"))
    runs = []
    for workflow_id, expected in zip(workflow_ids, ("succeeded", "failed", "failed", "failed"), strict=True):
        run_id = api.post("/runs", json={"workflow_id": workflow_id, "input": {}}).json()["run_id"]
        run = wait_for(api, run_id, {"succeeded", "failed", "cancelled"}, timeout_s=90)
        assert run["status"] == expected, run
        runs.append(run)

    # It really was used: the site got the header, the model server the bearer key.
    assert [h.get("x-canary-auth") for h in site.headers] == [CANARY, CANARY]
    assert openai.requests[0].headers["authorization"] == f"Bearer {CANARY}"
    assert "401" in runs[1]["error"]["message"] and "API key was refused" in runs[2]["error"]["message"]
    assert "The key [redacted] may not use this model" in runs[3]["error"]["message"]

    places: dict[str, str] = {"database dump": database_dump(running)}
    places |= {f"export of {i}": api.get(f"/workflows/{i}/export").text for i in workflow_ids}
    places |= {f"CLI export of {i}": subprocess.run([TRELLIS, "export", i], env=trellis_env(**running.env),
               capture_output=True, text=True, timeout=120).stdout for i in workflow_ids}  # fmt: skip
    places |= {f"log {log.name}": log.read_text(errors="replace") for log in running.logs}
    places |= {f"REST run {run['id']}": api.get(f"/runs/{run['id']}").text for run in runs}
    places |= {f"SSE events of {run['id']}": json.dumps(stream(api, run["id"])) for run in runs}
    places |= {"REST credentials": api.get("/credentials").text,
               **{f"REST credential {i}": api.get(f"/credentials/{i}").text for i in (header_id, key_id)}}  # fmt: skip
    if running.mode == "queue":
        client = redis.Redis.from_url(QUEUE_REDIS_URL)
        places |= {
            f"Redis stream of {run['id']}": str(client.xrange(f"trellis:run:{run['id']}:events")) for run in runs
        }
        places["Redis keys and values"] = str([(k, client.dump(k)) for k in client.scan_iter()])
        client.close()

    # The places hold what they should (so an empty dump or log cannot pass), and never the canary.
    assert "Canary header" in places["database dump"] and runs[0]["id"] in places["database dump"]
    assert "Hello there" in places[f"REST run {runs[0]['id']}"]
    assert all(len(text) > 20 for text in places.values()), {k: v[:80] for k, v in places.items()}
    leaks = [place for place, text in places.items() if CANARY in text]
    assert leaks == []
