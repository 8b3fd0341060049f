"""Engines and sessions: backend set-up, transaction boundaries, nothing created at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from runtime.executor.dispatch import create_run, trigger_payload
from runtime.store import Run, RunTrigger, Workspace, create_workflow, make_engine, session_scope
from tests.runtime.store.conftest import make_document


def test_sqlite_engine_creates_the_folder_and_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'trellis.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert (tmp_path / "a" / "b" / "trellis.db").is_file()
    engine.dispose()


def test_plain_postgresql_url_uses_psycopg_3() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert (engine.dialect.driver, engine.pool._pre_ping) == ("psycopg", True)
    engine.dispose()


def test_session_scope_commits_on_success(db_url: str) -> None:
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        workspace = Workspace(name="Kept")
        session.add(workspace)

    assert workspace.name == "Kept"  # still readable after the block
    with Session(engine) as session:
        assert session.exec(select(Workspace.name)).all() == ["Kept"]
    engine.dispose()


def test_session_scope_rolls_back_on_error(db_url: str) -> None:
    engine = make_engine(db_url)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Workspace(name="Lost"))
        session.flush()
        raise RuntimeError("boom")

    with Session(engine) as session:
        assert session.exec(select(Workspace)).all() == []
    engine.dispose()


def test_importing_the_store_creates_no_engine(tmp_path: Path) -> None:
    # The default database lives in the data dir; importing must not even create its folder.
    code = (
        "import runtime.store, runtime.store.migrate\n"
        "from runtime.store.engine import get_engine\n"
        "assert get_engine.cache_info().currsize == 0\n"
    )
    env = {"TRELLIS_DATA_DIR": str(tmp_path / "data"), "PATH": ""}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).parents[3])
    assert not (tmp_path / "data").exists()


def test_get_engine_uses_the_configured_database_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.config import get_settings
    from runtime.store.engine import get_engine

    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'configured.db'}")
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        engine = get_engine()
        assert engine is get_engine()
        assert engine.url.database == str(tmp_path / "configured.db")
        engine.dispose()
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()


def test_a_nul_character_in_json_is_stored_not_refused(session: Session, workspace: Workspace, db_url: str) -> None:
    # A webhook body with NUL (and the harmless text backslash-u-0000) is kept; PostgreSQL's JSONB
    # cannot hold NUL itself, so there it reads back as U+FFFD.
    workflow = create_workflow(session, workspace.id, make_document())
    body = {"text": "a\x00b", "literal": "\\u0000", "a\x00key": 1}
    run = create_run(session, workspace.id, workflow.id, trigger_payload(body), RunTrigger.WEBHOOK)
    session.commit()
    session.expire_all()

    stored = session.get(Run, run.id)

    assert stored is not None
    nul = "\x00" if db_url.startswith("sqlite") else "\ufffd"
    assert stored.input["body"] == {"text": f"a{nul}b", "literal": "\\u0000", f"a{nul}key": 1}
