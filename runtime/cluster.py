"""Many Trellis processes on one machine: web processes on their own ports, workers and a scheduler, all on
one PostgreSQL database and one Redis, each with its own log; started until ready, stopped together.

`running_cluster(plan)` is what `trellis cluster` and the multi-process test both use.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from runtime.config import Settings
from runtime.secrets import local_key_file
from runtime.serve import PROJECT_ROOT, answers, log_tail
from runtime.store import ensure_database

TRELLIS = str(Path(sys.executable).with_name("trellis"))
REPO_WEB = PROJECT_ROOT / ".web"
"""Reflex's frontend folder of this checkout; each web process builds into a copy of it."""
READY_TIMEOUT_S = 600.0
STOP_MARGIN_S = 15.0
"""Seconds a process may take to exit after its own grace before it is killed."""
WORKER_READY_LINE = "takes runs from"
SCHEDULER_READY_LINE = "scheduler started"


class ClusterError(RuntimeError):
    """A process of the cluster did not start; the message names it and shows its log's last lines."""


@dataclass(frozen=True)
class ClusterPlan:
    """What to start: a web process on each of `web_ports`, `workers` workers and one scheduler, against
    `settings`' PostgreSQL database and Redis; files under `data_dir`."""

    settings: Settings
    data_dir: Path
    web_ports: tuple[int, ...] = (3000, 3001)
    workers: int = 3
    web_workers: int = field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2))
    """Server processes per web process: Reflex's default (2 x CPUs + 1 each) overcommits a small machine."""


@dataclass
class Member:
    """One process of the cluster."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str | None = None
    """The web address of a web process; None for workers and the scheduler."""
    ready: Callable[[], bool] = lambda: True
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    started_at: float = field(default_factory=time.monotonic)

    def restart(self) -> None:
        """Start the member's command again (its process ended), appending to the same log."""
        self.process = start(self.name, self.command, self.env, self.log)
        self.started_at = time.monotonic()


@dataclass
class Cluster:
    """The running processes, web processes first."""

    members: list[Member]

    def of_kind(self, kind: str) -> list[Member]:
        """The members named `kind-N` (kind: web, worker or scheduler)."""
        return [member for member in self.members if member.name.split("-")[0] == kind]

    def exited(self) -> list[Member]:
        """Members whose process has ended."""
        return [member for member in self.members if member.process.poll() is not None]


def check_plan(plan: ClusterPlan) -> None:
    """Raise ClusterError unless the settings name PostgreSQL and Redis (processes share nothing else)."""
    if not plan.settings.redis_url:
        raise ClusterError("set TRELLIS_REDIS_URL: the cluster's processes share work and page sessions through Redis")
    if not plan.settings.resolved_database_url.startswith("postgresql"):
        raise ClusterError("set TRELLIS_DATABASE_URL to a PostgreSQL database: SQLite serves one process only")


def create_database_if_missing(url: str) -> None:
    """Create the PostgreSQL database `url` names when the server does not have it yet."""
    target = sa.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            query = sa.text("SELECT 1 FROM pg_database WHERE datname = :name")
            if connection.execute(query, {"name": target.database}).first() is None:
                connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    finally:
        admin.dispose()


def shared_environment(plan: ClusterPlan) -> dict[str, str]:
    """What every process gets: this environment, the database, Redis, the key ring and one metrics folder.

    Without TRELLIS_SECRET_KEYS(_FILE) the processes share a key file generated under `data_dir`, as the
    zero-setup mode does; it is kept, so the stored secrets open again on the next start.
    """
    settings = plan.settings
    env = {**os.environ, "TRELLIS_DATABASE_URL": settings.resolved_database_url,
           "TRELLIS_REDIS_URL": str(settings.redis_url),
           "TRELLIS_METRICS_DIR": str(plan.data_dir / "metrics")}  # fmt: skip
    if not (settings.secret_keys or settings.secret_keys_file):
        env["TRELLIS_SECRET_KEYS_FILE"] = str(local_key_file(settings.model_copy(update={"data_dir": plan.data_dir})))
    return env


def frontend_copy(target: Path) -> Path:
    """A copy of the checkout's `.web` at `target`, without its build, sharing its installed node_modules.

    A frontend build holds its server's port, so two web processes on one checkout need a folder each;
    without a `.web` yet, `target` stays empty and Reflex installs the frontend into it.
    """
    shutil.rmtree(target, ignore_errors=True)
    if not (REPO_WEB / "node_modules").is_dir():
        target.mkdir(parents=True)
        return target
    shutil.copytree(REPO_WEB, target, symlinks=True, ignore=shutil.ignore_patterns("node_modules", "build"))
    (target / "node_modules").symlink_to(REPO_WEB / "node_modules")
    return target


def start(name: str, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`command` in its own process group (so Ctrl+C reaches only the cluster), output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        output.write(f"==> {name}: {' '.join(command)}\n".encode())
        output.flush()
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def logged(log: Path, line: str) -> Callable[[], bool]:
    """A readiness check: `line` appears in `log`."""
    return lambda: log.exists() and line in log.read_text(errors="replace")


def start_web(plan: ClusterPlan, env: dict[str, str], index: int, port: int) -> Member:
    """Web process `index` (1-based) on `port`, with its own data and frontend folders."""
    name = f"web-{index}"
    folder = plan.data_dir / name
    web_env = {**env, "TRELLIS_PORT": str(port), "TRELLIS_DATA_DIR": str(folder),
               "TRELLIS_WEB_WORKERS": str(plan.web_workers),
               "REFLEX_WEB_WORKDIR": str(frontend_copy(folder / "web"))}  # fmt: skip
    log = plan.data_dir / "logs" / f"{name}.log"
    url = f"http://localhost:{port}"
    ready, command = functools.partial(answers, f"{url}/readyz"), [TRELLIS, "serve"]
    return Member(name, start(name, command, web_env, log), log, url, ready, command, web_env)


def start_members(plan: ClusterPlan, env: dict[str, str], cluster: Cluster) -> None:
    """Start every process of the plan into `cluster` (not yet ready): web processes, workers, the scheduler;
    one at a time, so a failure leaves `cluster` holding exactly what must be stopped."""
    logs = plan.data_dir / "logs"
    for index, port in enumerate(plan.web_ports, start=1):
        cluster.members.append(start_web(plan, env, index, port))
    for index in range(1, plan.workers + 1):
        name = f"worker-{index}"
        log, command = logs / f"{name}.log", [TRELLIS, "worker", "--name", name]
        process = start(name, command, env, log)
        cluster.members.append(Member(name, process, log, None, logged(log, WORKER_READY_LINE), command, env))
    log, command = logs / "scheduler.log", [TRELLIS, "scheduler"]
    process = start("scheduler", command, env, log)
    cluster.members.append(Member("scheduler", process, log, None, logged(log, SCHEDULER_READY_LINE), command, env))


def wait_ready(cluster: Cluster, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Return once every member is ready; ClusterError naming the first that exits or stays unready."""
    waiting = list(cluster.members)
    deadline = time.monotonic() + timeout_s
    while waiting:
        for member in cluster.exited():
            raise ClusterError(f"{member.name} exited with code {member.process.returncode} before it was ready; "
                               f"last lines of {member.log}:\n{log_tail(member.log)}")  # fmt: skip
        waiting = [member for member in waiting if not member.ready()]
        if waiting and time.monotonic() > deadline:
            raise ClusterError(f"{waiting[0].name} was not ready after {timeout_s:.0f} s; see {waiting[0].log}")
        time.sleep(0.5)


def stop_members(members: list[Member], worker_grace_s: float) -> None:
    """SIGTERM every process group at once, wait for each (workers: their grace to finish the nodes in
    flight), and kill the groups still there after that."""
    for member in members:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(member.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + worker_grace_s + STOP_MARGIN_S
    for member in members:
        try:
            member.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(member.process.pid, signal.SIGKILL)
            member.process.wait()


@contextlib.contextmanager
def running_cluster(plan: ClusterPlan) -> Iterator[Cluster]:
    """Migrate, start every process and wait until all are ready; stop them all when the block ends."""
    check_plan(plan)
    create_database_if_missing(plan.settings.resolved_database_url)
    ensure_database(plan.settings.resolved_database_url)
    env = shared_environment(plan)
    cluster = Cluster([])
    try:
        start_members(plan, env, cluster)
        wait_ready(cluster)
        yield cluster
    finally:
        stop_members(cluster.members, plan.settings.worker_grace_s)
