"""Alembic migrations: they build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import ast
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import Session, SQLModel, select

from runtime.store import Workspace, current_revision, ensure_database, make_engine, upgrade_database
from runtime.store.checkpoint_tables import CHECKPOINT_TABLES as ALL_CHECKPOINT_TABLES
from runtime.store.checkpoint_tables import POSTGRES_TABLES, SQLITE_TABLES
from runtime.store.migrate import MIGRATIONS_DIR, alembic_config
from tests.conftest import PgDatabases

EXPECTED_TABLES = {
    "alembic_version", "api_key", "audit_event", "credential", "idempotency_key", "login_session", "membership",
    "node_run", "run", "schedule", "schedule_tick", "user", "webhook", "webhook_delivery", "workflow",
    "workflow_version", "workspace",
}  # fmt: skip
CHECKPOINT_TABLES = {"sqlite": set(SQLITE_TABLES), "postgresql": set(POSTGRES_TABLES)}
"""LangGraph's checkpointer tables, created by the migrations too (they are not SQLModel models)."""


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Compare only the models' tables (as migrations/env.py does for autogenerate)."""
    return not (type_ == "table" and name in ALL_CHECKPOINT_TABLES)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_migrated_database_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, SQLModel.metadata) == []
        checkpoint_tables = CHECKPOINT_TABLES[connection.dialect.name]
        assert set(sa.inspect(connection).get_table_names()) == EXPECTED_TABLES | checkpoint_tables
    engine.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    assert current_revision(db_url) == head_revision() is not None

    upgrade_database(db_url)

    assert current_revision(db_url) == head_revision()


def test_fresh_database_has_no_revision_until_upgraded(make_pg_database: PgDatabases, tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'nested' / 'new.db'}", make_pg_database()):
        assert current_revision(url) is None
        upgrade_database(url)
        assert current_revision(url) == head_revision()


def test_ensure_database_migrates_and_creates_the_local_workspace_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"

    assert ensure_database(url) == head_revision()
    assert ensure_database(url) == head_revision()

    engine = make_engine(url)
    with Session(engine) as session:
        assert [w.name for w in session.exec(select(Workspace)).all()] == ["Local"]
    engine.dispose()


def test_upgrade_uses_the_configured_database_by_default(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from runtime.config import get_settings

    monkeypatch.setenv("TRELLIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRELLIS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        upgrade_database()
        assert current_revision() == head_revision()
        assert (tmp_path / "data" / "trellis.db").is_file()
    finally:
        get_settings.cache_clear()


def imported_top_level_modules(source: str) -> set[str]:
    """The top-level package of every import statement in `source`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return {name.split(".")[0] for name in names}


def test_revisions_import_nothing_from_the_application() -> None:
    # A revision must keep working after the models change, so it may not import them.
    revisions = [p for p in (MIGRATIONS_DIR / "versions").glob("*.py") if p.name != "__init__.py"]
    assert revisions
    for path in revisions:
        assert imported_top_level_modules(path.read_text()) <= {"collections", "sqlalchemy", "alembic"}, path
