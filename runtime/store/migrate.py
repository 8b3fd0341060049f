"""Schema migrations run from code: `trellis migrate`, app start-up and tests call these."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from runtime.config import get_settings
from runtime.store.accounts import ensure_local_workspace
from runtime.store.engine import get_engine, make_engine, session_scope

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
URL_ATTRIBUTE = "trellis_database_url"
"""Key in `Config.attributes` that `migrations/env.py` reads the database URL from."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for the repo's `migrations/` folder and `url` (default: the configured one)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # An attribute, not the `sqlalchemy.url` option: ConfigParser would treat `%` in passwords specially.
    config.attributes[URL_ATTRIBUTE] = url or get_settings().resolved_database_url
    return config


def upgrade_database(url: str | None = None) -> None:
    """Bring the database at `url` (default: the configured one) to the newest schema; idempotent."""
    command.upgrade(alembic_config(url), "head")


def current_revision(url: str | None = None) -> str | None:
    """The migration revision the database is at; None for a database never migrated."""
    engine = make_engine(url or get_settings().resolved_database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def ensure_database(url: str | None = None) -> str | None:
    """Migrate the database (default: the configured one) and make sure a workspace exists.

    What `trellis migrate` and `trellis serve` run first; returns the revision the database is at.
    """
    url = url or get_settings().resolved_database_url
    upgrade_database(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            ensure_local_workspace(session)
    finally:
        engine.dispose()
    return current_revision(url)


def local_workspace_id() -> str:
    """The id of the workspace CLI commands act in (the zero-setup local one), migrating the database first."""
    ensure_database()
    with session_scope(get_engine()) as session:
        return ensure_local_workspace(session).id
