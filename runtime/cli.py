"""The `trellis` command line: serve, migrate, validate, import, export, exec, worker, scheduler, credential,
apikey, secrets, cluster."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path

import click

from runtime.cli_apikey import apikey
from runtime.cli_cluster import cluster
from runtime.cli_secrets import require_secret_keys, secrets
from runtime.config import get_settings
from runtime.credential_types import CREDENTIAL_TYPES, CredentialFieldsInvalid
from runtime.credentials import add_credential
from runtime.engine import compile_workflow
from runtime.errors import NotFound, WorkflowInvalid
from runtime.executor.dispatch import trigger_payload
from runtime.executor.ephemeral import execute_document
from runtime.graph.validate import validate_document
from runtime.ops import serve_metrics
from runtime.scheduler import POLL_INTERVAL_S, serve_schedules
from runtime.serve import serve as run_server
from runtime.store import (
    InvalidValueError,
    RunStatus,
    ensure_database,
    get_engine,
    session_scope,
)
from runtime.store.migrate import local_workspace_id
from runtime.workflows import export_workflow, import_workflow, parse_upload

EXIT_INVALID = 2


def report_invalid(error: WorkflowInvalid) -> None:
    """Print every problem of an invalid document to stderr and exit 2."""
    click.echo(f"{len(error.issues)} problem(s) found:", err=True)
    for issue in error.issues:
        click.echo(f"  - {issue}", err=True)
    sys.exit(EXIT_INVALID)


@click.group()
def main() -> None:
    """Trellis: build, run and watch AI and automation workflows."""


@main.command()
@click.option("--port", type=int, envvar="TRELLIS_PORT", help="Port for pages and API (default 3000).")
@click.option(
    "--prebuilt", is_flag=True, envvar="TRELLIS_SERVE_PREBUILT",
    help="Serve the frontend already built in .web (a container image) without rebuilding it; needs no node.",
)  # fmt: skip
def serve(port: int | None, prebuilt: bool) -> None:
    """Migrate the database and serve the web app until Ctrl+C."""
    settings = get_settings().model_copy(update={"port": port}) if port else get_settings()
    ensure_database()
    require_secret_keys()
    sys.exit(run_server(settings, click.echo, prebuilt=prebuilt))


@main.command()
def migrate() -> None:
    """Bring the database schema up to date (creates it and the local workspace if needed)."""
    revision = ensure_database()
    click.echo(f"Database is at revision {revision}.")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(file: Path) -> None:
    """Check a workflow document; exit 0 when valid, 2 with every problem listed otherwise."""
    try:
        document = validate_document(parse_upload(file.read_bytes()))
    except WorkflowInvalid as error:
        report_invalid(error)
    click.echo(f"{file}: valid ({len(document.nodes)} nodes, {len(document.edges)} edges)")


@main.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(file: Path) -> None:
    """Store a workflow document as a new workflow and print its id."""
    workspace_id = local_workspace_id()
    try:
        with session_scope(get_engine()) as session:
            workflow_id = import_workflow(session, workspace_id, file.read_bytes()).id
    except WorkflowInvalid as error:
        report_invalid(error)
    click.echo(workflow_id)


@main.command()
@click.argument("workflow_id")
def export(workflow_id: str) -> None:
    """Print the latest document of a workflow as JSON."""
    workspace_id = local_workspace_id()
    try:
        with session_scope(get_engine()) as session:
            document = export_workflow(session, workspace_id, workflow_id)
    except NotFound as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@main.command(name="exec")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--input", "input_json", default="{}", show_default=True, help="JSON the trigger gets as its body.")
def exec_(file: Path, input_json: str) -> None:
    """Run a document without saving it: every event as a JSON line, then the output.

    Exit 0 when the run succeeded, 1 when it failed, 2 when the document is invalid.
    """
    try:
        body = json.loads(input_json)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not valid JSON ({error})", param_hint="--input") from None
    try:
        compiled = compile_workflow(validate_document(parse_upload(file.read_bytes())))
    except WorkflowInvalid as error:
        report_invalid(error)
    workspace_id = local_workspace_id()

    def print_event(event: dict[str, object]) -> None:
        click.echo(json.dumps(event, ensure_ascii=False, default=str))

    status, output, error = asyncio.run(
        execute_document(compiled, trigger_payload(body), get_settings(), workspace_id, print_event)
    )
    click.echo(json.dumps({"status": status.value, "output": output, "error": error}, ensure_ascii=False, default=str))
    sys.exit(0 if status is RunStatus.SUCCEEDED else 1)


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--name", default=None, help="Worker name shown in RQ job records (default: host.pid).")
@click.option(
    "--concurrency", type=click.IntRange(1, 1000), default=None, envvar="TRELLIS_WORKER_CONCURRENCY",
    help="Runs this process executes at once (default 16).",
)  # fmt: skip
@click.option(
    "--scheduler", "with_scheduler", is_flag=True, envvar="TRELLIS_WORKER_SCHEDULER",
    help="Also start scheduled runs (a `trellis scheduler` child process).",
)  # fmt: skip
@click.option(
    "--metrics-port", type=click.IntRange(1, 65535), default=None, envvar="TRELLIS_WORKER_METRICS_PORT",
    help="Also answer GET /metrics, /healthz and /readyz on this port (hosts without a web process, probes).",
)  # fmt: skip
def worker(
    burst: bool, name: str | None, concurrency: int | None, with_scheduler: bool, metrics_port: int | None
) -> None:
    """Take runs from the Redis queue (TRELLIS_REDIS_URL) and execute them, several at once."""
    from runtime.worker import work  # imports the whole engine; only workers need that

    ensure_database()
    require_secret_keys()
    children = [child_process(schedule_forever)] if with_scheduler else []
    with probe_server(metrics_port), running_children(children):
        work(burst=burst, name=name, concurrency=concurrency)


@contextlib.contextmanager
def running_children(children: list[BaseProcess]) -> Iterator[None]:
    """Start `children` for the block, then terminate them."""
    for child in children:
        child.start()
    try:
        yield
    finally:
        for child in children:
            child.terminate()
            child.join(timeout=10)


def child_process(target: Callable[..., None], *args: object) -> BaseProcess:
    """`target(*args, parent_pid=<this process>)` in a spawned daemon child, not started yet. Processes, not
    threads: the scheduler's blocking database calls and the probe server stay off the worker's event loop."""
    spawn = multiprocessing.get_context("spawn")
    return spawn.Process(target=target, args=args, kwargs={"parent_pid": os.getpid()}, daemon=True)


def probe_server(port: int | None) -> contextlib.AbstractContextManager[None]:
    """`/metrics`, `/healthz` and `/readyz` on `port` from a child process for the block (nothing without a port)."""
    return running_children([child_process(serve_metrics, port)]) if port is not None else contextlib.nullcontext()


@main.command()
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=POLL_INTERVAL_S, show_default=True,
    envvar="TRELLIS_SCHEDULER_INTERVAL", help="Seconds between two looks for due schedules.",
)  # fmt: skip
@click.option(
    "--metrics-port", type=click.IntRange(1, 65535), default=None, envvar="TRELLIS_SCHEDULER_METRICS_PORT",
    help="Also answer GET /metrics, /healthz and /readyz on this port (for container probes).",
)  # fmt: skip
def scheduler(interval: float, metrics_port: int | None) -> None:
    """Start the runs of due schedule_trigger ticks until stopped; several may run at once."""
    ensure_database()
    require_secret_keys()
    with probe_server(metrics_port):
        schedule_forever(interval_s=interval)


def schedule_forever(*, interval_s: float = POLL_INTERVAL_S, parent_pid: int | None = None) -> None:
    """Run the scheduler loop with logs on stderr until SIGTERM/SIGINT (or the parent process ends)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from runtime.executor.reaper import start_recovery  # imports the executor; only schedulers need it here

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    recovery, stop_recovery = start_recovery()  # schedulers recover runs nobody executes, as workers do
    try:
        serve_schedules(stop=stop, interval_s=interval_s, parent_pid=parent_pid)
    finally:
        stop_recovery.set()
        recovery.join(timeout=5)


@main.group()
def credential() -> None:
    """Stored credentials (encrypted at rest; nodes name them by id)."""


@credential.command(name="add")
@click.argument("name")
@click.option("--type", "kind", required=True, type=click.Choice(list(CREDENTIAL_TYPES)), help="Credential type.")
@click.option("--id", "credential_id", default=None, help="Id to store it under, e.g. cred_demo (default: generated).")
def credential_add(name: str, kind: str, credential_id: str | None) -> None:
    """Store a credential whose fields are read as a JSON object from stdin; prints its id.

    Example: echo '{"api_key": "sk-...", "base_url": "http://127.0.0.1:8080/v1"}' \\
    | trellis credential add demo --type openai
    """
    try:
        fields = json.loads(click.get_text_stream("stdin").read())
    except json.JSONDecodeError as error:
        raise click.ClickException(f"stdin is not a JSON object of credential fields ({error})") from None
    if not isinstance(fields, dict):
        raise click.ClickException('stdin must hold a JSON object, e.g. {"api_key": "..."}')
    workspace_id = local_workspace_id()
    try:
        with session_scope(get_engine()) as session:
            stored = add_credential(
                session, workspace_id, None, name, kind, fields, credential_id=credential_id, via="cli"
            )
    except (CredentialFieldsInvalid, InvalidValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(stored.id)


main.add_command(apikey)
main.add_command(cluster)
main.add_command(secrets)
