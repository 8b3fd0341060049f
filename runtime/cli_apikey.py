"""`trellis apikey create|list|revoke`: REST API keys of the local workspace."""

from __future__ import annotations

import click

from runtime.errors import NotFound
from runtime.store import Role, get_engine, session_scope
from runtime.store.api_keys import create_api_key, list_api_keys, revoke_api_key
from runtime.store.migrate import local_workspace_id


@click.group()
def apikey() -> None:
    """API keys for the REST API (`Authorization: Bearer <key>`)."""


@apikey.command(name="create")
@click.option("--name", required=True, help="What the key is for, e.g. ci-deploy.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.EDITOR.value,
    show_default=True,
    help="viewer may only read; editor and above may also change and run workflows.",
)
def create(name: str, role: str) -> None:
    """Create a key and print it; it is shown this once only (only its hash is stored)."""
    workspace_id = local_workspace_id()
    with session_scope(get_engine()) as session:
        created = create_api_key(session, workspace_id, name, Role(role))
    click.echo(f"Created API key {created.key.id} ({role}). Copy it now, it will not be shown again:", err=True)
    click.echo(created.plaintext)


@apikey.command(name="list")
def list_() -> None:
    """List keys: id, name, role, last four characters, last use and whether revoked."""
    workspace_id = local_workspace_id()
    with session_scope(get_engine()) as session:
        keys = list_api_keys(session, workspace_id)
    for key in keys:
        used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
        state = f"revoked {key.revoked_at.isoformat(timespec='seconds')}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.name}\t{key.role.value}\t...{key.last_four}\tlast used {used}\t{state}")


@apikey.command(name="revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key at once: requests carrying it are refused from now on."""
    workspace_id = local_workspace_id()
    try:
        with session_scope(get_engine()) as session:
            revoke_api_key(session, workspace_id, key_id)
    except NotFound as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Revoked {key_id}.")
