"""Real Trellis processes for tests: `trellis serve` on a port of its own (a frontend built once per port),
`trellis worker`s, and stopping a process's whole group (SIGTERM, not SIGINT: a shell running the suite in
the background makes children ignore SIGINT)."""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.cluster import TRELLIS, frontend_copy
from runtime.serve import log_tail, port_in_use

READY_TIMEOUT_S = 600


@dataclass(frozen=True)
class Server:
    """A running Trellis server and the database it uses."""

    url: str
    database_url: str
    startup_lines: tuple[str, ...] = ()
    """What `trellis serve` printed up to its ready line (e.g. the first-run setup link)."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_ready_line(process: subprocess.Popen[bytes], output: Path, log: Path) -> tuple[str, ...]:
    """Block until `trellis serve` writes its ready line to `output` and return what it wrote up to it; fail
    with what it wrote and the server's `log` if it dies or stalls."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        printed = output.read_text(errors="replace").splitlines()
        ready = next((index for index, line in enumerate(printed) if "is ready at" in line), None)
        if ready is not None:
            return tuple(printed[: ready + 1])
        time.sleep(0.2)
    written = "\n".join(log_tail(path) for path in dict.fromkeys([output, log]))
    pytest.fail(f"trellis serve did not become ready (exit {process.poll()}):\n{written}")


def stop_group(process: subprocess.Popen[Any], timeout_s: float = 30) -> None:
    """SIGTERM the process group, then SIGKILL it if it is still there after `timeout_s`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def kill_group(process: subprocess.Popen[Any]) -> None:
    """`kill -9` every process in the group (as a crashed host or the OOM killer would) and reap the leader."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def signal_group(process: subprocess.Popen[Any], signum: signal.Signals) -> None:
    """Send `signum` to every process in the group (SIGSTOP pauses them all, SIGCONT resumes them)."""
    os.killpg(process.pid, signum)


def trellis_env(**settings: str) -> dict[str, str]:
    """This process's environment without its TRELLIS_REDIS_URL (a test picks the mode), plus `settings`."""
    return {**{k: v for k, v in os.environ.items() if k != "TRELLIS_REDIS_URL"}, **settings}


@dataclass
class FrontendSlot:
    """A port and the frontend folder built for it: a production build holds its server's port (the page's
    websocket address), so a build is made once per port and then served as it is (`trellis serve
    --prebuilt`) by every later test server on that port, instead of rebuilding it (~25 s) at each start."""

    port: int
    web_dir: Path | None
    """None: the checkout's `.web`; else a copy of it (node_modules shared)."""
    built: bool = False
    in_use: bool = False


FRONTEND_SLOTS: list[FrontendSlot] = []


def unlisted_port() -> int:
    """A free port below the kernel's ephemeral range, so no outgoing connection takes it while the slot
    that owns it waits for its next server."""
    first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    taken = {slot.port for slot in FRONTEND_SLOTS}
    for port in random.sample(range(20000, first_ephemeral), 200):
        if port not in taken and not port_in_use(port):
            return port
    raise RuntimeError("no free port below the ephemeral range")


def frontend_folder() -> Path:
    """A copy of the checkout's `.web` in a folder removed when the test session ends."""
    folder = Path(tempfile.mkdtemp(prefix="trellis-web-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return frontend_copy(folder / "web")


@contextlib.contextmanager
def frontend_slot() -> Iterator[FrontendSlot]:
    """A slot no running test server uses, held until the block ends; the first is the checkout's `.web`
    (made by the first build), later ones are copies of it."""
    slot = next((slot for slot in FRONTEND_SLOTS if not slot.in_use and not port_in_use(slot.port)), None)
    if slot is None:
        slot = FrontendSlot(unlisted_port(), frontend_folder() if FRONTEND_SLOTS else None)
        FRONTEND_SLOTS.append(slot)
    slot.in_use = True
    try:
        yield slot
    finally:
        slot.in_use = False


@contextlib.contextmanager
def running_server(database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """`trellis serve` against `database_url` (migrated at start), stopped when the block ends.

    `database_url` and `data_dir` win over the same settings in `extra_env`. The server's output goes to
    `data_dir/serve.log`, as `trellis serve` writes it when it builds the frontend itself.
    """
    env = trellis_env(**{**(extra_env or {}), "TRELLIS_DATABASE_URL": database_url, "TRELLIS_DATA_DIR": str(data_dir)})
    # In queue mode Reflex would start 2 x CPUs + 1 server processes, each importing the app at start; one is
    # enough here (the cluster tests share sessions between web processes through Redis).
    env.setdefault("TRELLIS_WEB_WORKERS", "1")
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "serve.log"
    with frontend_slot() as slot:
        env["TRELLIS_PORT"] = str(slot.port)
        if slot.web_dir is not None:
            env["REFLEX_WEB_WORKDIR"] = str(slot.web_dir)
        # Building, `trellis serve` writes the server's output to serve.log itself; prebuilt, to its own output.
        output = log if slot.built else data_dir / "trellis.out"
        with output.open("wb") as out:
            process = subprocess.Popen(
                [TRELLIS, "serve", *(["--prebuilt"] if slot.built else [])], env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            printed = wait_for_ready_line(process, output, log)
            slot.built = True
            yield Server(url=f"http://localhost:{slot.port}", database_url=database_url, startup_lines=printed)
        finally:
            stop_group(process)


def start_worker(env: dict[str, str], name: str, *options: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """A `trellis worker` with `env` (over this process's environment) in its own process group;
    its output goes to `log` when given (appended), else to this process's."""
    output = log.open("ab") if log is not None else None
    try:
        return subprocess.Popen([TRELLIS, "worker", "--name", name, *options], env=trellis_env(**env),
                                start_new_session=True, stdout=output, stderr=output)  # fmt: skip
    finally:
        if output is not None:
            output.close()  # the child has its own copy


@contextlib.contextmanager
def running_workers(env: dict[str, str], name: str, count: int = 1) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` `trellis worker`s named `name-0`, `name-1`, ... until the block ends."""
    workers = [start_worker(env, f"{name}-{index}") for index in range(count)]
    try:
        yield workers
    finally:
        for worker in workers:
            stop_group(worker)
