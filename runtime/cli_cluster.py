"""`trellis cluster`: two web processes, three workers and a scheduler on this machine until Ctrl+C."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click

from runtime.cluster import Cluster, ClusterError, ClusterPlan, running_cluster
from runtime.config import get_settings

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/trellis"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CRASH_LOOP_S = 10.0


def describe(cluster: Cluster) -> str:
    """One line per process: name, pid, address and log."""
    lines = []
    for member in cluster.members:
        where = member.url or "-"
        lines.append(f"  {member.name:<10} pid {member.process.pid:<8} {where:<24} log {member.log}")
    return "\n".join(lines)


def setup_lines(cluster: Cluster) -> list[str]:
    """The first-run setup links the web processes printed (while nobody can sign in yet)."""
    printed = [line for web in cluster.of_kind("web") for line in this_start(web.log, web.name).splitlines()]
    return [line for line in printed if line.startswith("Create the owner account")]


def this_start(log: Path, name: str) -> str:
    """What `name` wrote to its log since it was last started (a log is appended to across starts)."""
    return log.read_text(errors="replace").rpartition(f"==> {name}: ")[2]


def watch(cluster: Cluster) -> int:
    """Until SIGTERM/SIGINT, `supervise` every second; 1 once it says the cluster must stop."""
    while supervise(cluster, lambda line: click.echo(line, err=True)):
        time.sleep(1.0)
    return 1


def supervise(cluster: Cluster, say: Callable[[str], None]) -> bool:
    """Start again each process that ended on its own, as a container runtime would (the others go on; a
    killed worker's runs move to the rest). False, after saying why, when one ended within `CRASH_LOOP_S`
    of its start: it cannot start, and starting it again would only repeat that."""
    for member in cluster.exited():
        code = member.process.returncode
        if time.monotonic() - member.started_at < CRASH_LOOP_S:
            say(f"{member.name} exited with code {code} right after starting; stopping the cluster (see {member.log})")
            return False
        say(f"{member.name} exited with code {code}; starting it again (log {member.log})")
        member.restart()
    return True


def interrupt(*_: object) -> None:
    """First Ctrl+C/SIGTERM: stop the cluster. Later ones are ignored: stopping must not be cut short."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    click.echo("Stopping the cluster (workers first finish the nodes they run)…")
    raise KeyboardInterrupt


@click.command()
@click.option("--webs", type=click.IntRange(1, 16), default=2, show_default=True, help="Web processes.")
@click.option("--workers", type=click.IntRange(0, 64), default=3, show_default=True, help="Worker processes.")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True,
              help="Port of the first web process; the others take the next ones.")  # fmt: skip
@click.option("--web-workers", type=click.IntRange(1, 64), default=None,
              help="Server processes per web process (default: half the CPUs, at least 1).")  # fmt: skip
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Logs, frontend builds, a generated key file (default <TRELLIS_DATA_DIR>/cluster).")  # fmt: skip
def cluster(webs: int, workers: int, port: int, web_workers: int | None, data_dir: Path | None) -> None:
    """Run web processes, workers and a scheduler on local PostgreSQL and Redis until Ctrl+C.

    TRELLIS_DATABASE_URL (PostgreSQL; created and migrated if needed) defaults to
    postgresql+psycopg://postgres@127.0.0.1:5432/trellis, TRELLIS_REDIS_URL to redis://127.0.0.1:6379/0.
    Without TRELLIS_SECRET_KEYS a key file is generated in the data folder and kept.
    """
    settings = get_settings()
    settings = settings.model_copy(update={"database_url": settings.database_url or DEFAULT_DATABASE_URL,
                                           "redis_url": settings.redis_url or DEFAULT_REDIS_URL})  # fmt: skip
    folder = (data_dir or settings.data_dir / "cluster").resolve()
    plan = ClusterPlan(settings, folder, web_ports=tuple(range(port, port + webs)), workers=workers)
    if web_workers:
        plan = replace(plan, web_workers=web_workers)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, interrupt)
    click.echo(f"Starting {webs} web, {workers} worker(s) and a scheduler (the first start builds the frontends)")
    try:
        with running_cluster(plan) as running:
            click.echo(f"Trellis cluster is ready (Ctrl+C stops it):\n{describe(running)}")
            for line in setup_lines(running):
                click.echo(line)
            code = watch(running)
    except KeyboardInterrupt:
        click.echo("Stopped.")
        sys.exit(0)
    except ClusterError as error:
        raise click.ClickException(str(error)) from None
    sys.exit(code)
