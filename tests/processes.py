"""Real Trellis processes for tests: `trellis serve` on a free port, `trellis worker`s, and stopping
a process's whole group (SIGTERM, not SIGINT: a shell running the suite in the background makes
children ignore SIGINT)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.cluster import REPO_WEB, TRELLIS, frontend_copy

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


def wait_for_ready_line(process: subprocess.Popen[str], log: Path) -> tuple[str, ...]:
    """Block until `trellis serve` says it is ready and return what it printed; fail with its output if it
    dies or stalls."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    assert process.stdout is not None
    printed: list[str] = []
    for line in process.stdout:
        sys.stderr.write(f"[serve] {line}")
        printed.append(line.rstrip("\n"))
        if "is ready at" in line:
            return tuple(printed)
        if time.monotonic() > deadline:
            break
    server_log = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    pytest.fail(f"trellis serve did not become ready (exit {process.poll()}):\n{server_log}")


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


@contextlib.contextmanager
def running_server(
    database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None, *, own_frontend: bool = False
) -> Iterator[Server]:
    """`trellis serve` on a free port against `database_url` (migrated at start), stopped when the block ends.

    `database_url` and `data_dir` win over the same settings in `extra_env`. The frontend build holds the
    server's port, so a second server whose pages are opened while another one serves pages needs
    `own_frontend`: it builds into its own copy of `.web` (node_modules shared) instead of the checkout's.
    """
    env = trellis_env(**{**(extra_env or {}), "TRELLIS_DATABASE_URL": database_url, "TRELLIS_DATA_DIR": str(data_dir)})
    env["TRELLIS_PORT"] = str(free_port())
    # In queue mode Reflex would start 2 x CPUs + 1 server processes, each importing the app at start; one is
    # enough here (the cluster tests share sessions between web processes through Redis).
    env.setdefault("TRELLIS_WEB_WORKERS", "1")
    if own_frontend and REPO_WEB.is_dir():
        env["REFLEX_WEB_WORKDIR"] = str(frontend_copy(data_dir / "web"))
    process = subprocess.Popen(
        [TRELLIS, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        printed = wait_for_ready_line(process, Path(env["TRELLIS_DATA_DIR"]) / "serve.log")
        yield Server(url=f"http://localhost:{env['TRELLIS_PORT']}", database_url=database_url, startup_lines=printed)
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
