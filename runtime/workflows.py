"""Workflow documents in and out of the store: validated import, faithful export, starters."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from runtime.config import get_settings
from runtime.errors import Issue, WorkflowInvalid
from runtime.graph.schema import dump_document
from runtime.graph.validate import validate_document
from runtime.store import Workflow, create_workflow, get_workflow, latest_version


def parse_upload(raw: bytes | str) -> Any:
    """Check the size of an uploaded document; the validator parses and checks the rest."""
    limit = get_settings().max_import_bytes
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > limit:
        issue = Issue(None, "document", f"{size} bytes", f"is larger than the {limit}-byte limit", "too_large")
        raise WorkflowInvalid([issue])
    return raw


def import_workflow(
    session: Session, workspace_id: str, raw: bytes | str | dict[str, Any], *, created_by: str | None = None
) -> Workflow:
    """Validate a document and store it as a new workflow; nothing is stored when it is invalid."""
    document = validate_document(raw if isinstance(raw, dict) else parse_upload(raw))
    return create_workflow(session, workspace_id, dump_document(document), created_by=created_by)


def export_workflow(session: Session, workspace_id: str, workflow_id: str) -> dict[str, Any]:
    """The latest saved document of a workflow, carrying the workflow's current name."""
    workflow = get_workflow(session, workspace_id, workflow_id)
    document = dict(latest_version(session, workspace_id, workflow_id).document)
    document["name"] = workflow.name
    return document


def starter_document(name: str) -> dict[str, Any]:
    """A new workflow's first document: a manual trigger wired to an output."""
    return {
        "format": "trellis.workflow",
        "format_version": 1,
        "name": name,
        "description": "",
        "nodes": [
            {"id": "start", "type": "manual_trigger", "type_version": 1, "title": "Start",
             "params": {}, "credentials": {}, "position": {"x": 0, "y": 0}},
            {"id": "result", "type": "output", "type_version": 1, "title": "Result",
             "params": {}, "credentials": {}, "position": {"x": 260, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "source": "start", "source_handle": "out", "target": "result", "target_handle": "in"},
        ],
        "settings": {"timeout_s": 300},
    }  # fmt: skip


def create_blank_workflow(session: Session, workspace_id: str, name: str) -> Workflow:
    """Create a workflow holding the starter document under `name`."""
    document = validate_document(starter_document(name.strip()))
    return create_workflow(session, workspace_id, dump_document(document))
