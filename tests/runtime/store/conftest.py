"""Fixtures for store tests: two workspaces and a sample workflow document."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from runtime.store import Workspace


def make_document(name: str = "Summarise a web page", **extra: Any) -> dict[str, Any]:
    """A small workflow document; the store does not validate documents, so its shape is free."""
    return {
        "format": "trellis.workflow",
        "format_version": 1,
        "name": name,
        "description": "Fetch a page and summarise it",
        "nodes": [{"id": "start", "type": "manual_trigger", "type_version": 1, "params": {}}],
        "edges": [],
        "settings": {},
        **extra,
    }


@pytest.fixture
def workspace(session: Session) -> Workspace:
    """Workspace A, committed."""
    workspace = Workspace(name="A")
    session.add(workspace)
    session.commit()
    return workspace


@pytest.fixture
def other_workspace(session: Session) -> Workspace:
    """Workspace B, committed; must never see A's rows."""
    workspace = Workspace(name="B")
    session.add(workspace)
    session.commit()
    return workspace
