"""The `trellis` command line: serve, migrate, validate, import, export."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from runtime.config import get_settings
from runtime.errors import NotFound, WorkflowInvalid
from runtime.graph.validate import validate_document
from runtime.serve import serve as run_server
from runtime.store import ensure_database, ensure_local_workspace, get_engine, session_scope
from runtime.workflows import export_workflow, import_workflow, parse_upload

EXIT_INVALID = 2


def report_invalid(error: WorkflowInvalid) -> None:
    """Print every problem of an invalid document to stderr and exit 2."""
    click.echo(f"{len(error.issues)} problem(s) found:", err=True)
    for issue in error.issues:
        click.echo(f"  - {issue}", err=True)
    sys.exit(EXIT_INVALID)


def local_workspace_id() -> str:
    """The workspace CLI commands act in (the zero-setup local one), migrating the database first."""
    ensure_database()
    with session_scope(get_engine()) as session:
        return ensure_local_workspace(session).id


@click.group()
def main() -> None:
    """Trellis: build, run and watch AI and automation workflows."""


@main.command()
@click.option("--port", type=int, envvar="TRELLIS_PORT", help="Port for pages and API (default 3000).")
def serve(port: int | None) -> None:
    """Migrate the database and serve the web app until Ctrl+C."""
    settings = get_settings().model_copy(update={"port": port}) if port else get_settings()
    ensure_database()
    sys.exit(run_server(settings, click.echo))


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
