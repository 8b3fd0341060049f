"""Builder states driven as the browser drives them: a state instance whose router carries the
session cookie of a signed-in member, on a configured, migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from reflex.istate.data import HeaderData, PageData, ReflexURL, RouterData

from runtime.store import ensure_database, get_engine
from tests.accounts import SignedIn
from tests.runtime.executor.conftest import reset_caches

APP_URL = "http://localhost:3000"
S = TypeVar("S")


def configure_app(url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    """Point the app's settings at the database `url`, migrated; the engine its handlers use."""
    monkeypatch.setenv("TRELLIS_DATABASE_URL", url)
    monkeypatch.setenv("TRELLIS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("TRELLIS_REDIS_URL", raising=False)
    reset_caches()
    ensure_database(url)
    return get_engine()


@pytest.fixture
def app_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    """The engine the app's handlers use (`get_engine()`), on a fresh migrated SQLite database."""
    yield configure_app(f"sqlite:///{tmp_path / 'app.db'}", tmp_path / "data", monkeypatch)
    reset_caches()


def browser_of(state_class: type[S], who: SignedIn | None, path: str = "/", **params: str) -> S:
    """A state of `state_class` as the browser of `who` (signed out when None) on page `path` sees it."""
    state = state_class(_reflex_internal_init=True)  # type: ignore[call-arg]
    cookie = f"trellis_session={who.token}" if who else ""
    state.router = RouterData(  # type: ignore[attr-defined]
        headers=HeaderData(cookie=cookie, origin=APP_URL),
        _page=PageData(path=path, params=params),
        url=ReflexURL(APP_URL + path),
    )
    return state
