"""The workflow document (DESIGN.md section 2) as pydantic models, and its JSON Schema.

These models check shape only. Everything that needs the node library or the whole graph
(id syntax, unknown types, params, dangling edges, cycles) is checked by
`runtime.graph.validate.validate_document`, which reports it against the node it concerns.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT = "trellis.workflow"
FORMAT_VERSION = 1
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Strict(BaseModel):
    # extra="forbid" turns a misspelt key into a reported problem instead of silently dropping it;
    # strict=True keeps "1" from passing as 1, so the stored document is exactly what was checked.
    model_config = ConfigDict(extra="forbid", strict=True)


class Position(_Strict):
    """Where a node sits on the canvas, in canvas pixels."""

    x: float = Field(description="Horizontal position of the node's top-left corner.", allow_inf_nan=False)
    y: float = Field(description="Vertical position of the node's top-left corner.", allow_inf_nan=False)


class NodeSettings(_Strict):
    """How the engine runs one node: retries on retryable failures, and a time limit per attempt."""

    retry_attempts: int = Field(1, ge=1, le=10, description="Attempts in all; 1 means no retry.")
    retry_backoff_s: float = Field(
        1.0, ge=0, le=300, description="Wait before the first retry; doubles on each later one."
    )
    timeout_s: float | None = Field(
        None, gt=0, le=86400, description="Stop an attempt after this many seconds; empty means no limit."
    )


class NodeSpec(_Strict):
    """One node of the graph: an instance of a node type with the parameters the user set."""

    id: str = Field(
        description=(
            "Stable slug, unique in the workflow and used in expressions as `nodes.<id>.output`: "
            "a lowercase letter, then lowercase letters, digits or underscores (at most 63 characters)."
        )
    )
    type: str = Field(description="Node type id from the node library, e.g. `llm` or `http_request`.")
    type_version: int = Field(ge=1, description="Version of the node type this node was built with.")
    title: str = Field("", max_length=200, description="Label shown on the canvas; free to change.")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Only the parameters the user set; the node type supplies the defaults. Never secrets.",
    )
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="Credential slot name -> stored credential id. Holds ids only, never secret values.",
    )
    position: Position = Field(description="Where the node sits on the canvas.")
    settings: NodeSettings = Field(default_factory=NodeSettings, description="Retry and timeout policy for this node.")


class EdgeSpec(_Strict):
    """A wire from one node's output handle to another node's input handle."""

    id: str = Field(description="Edge id, unique in the workflow.")
    source: str = Field(description="Id of the node the edge starts at.")
    source_handle: str = Field("out", description="Output handle of the source node, e.g. `out` or `true`.")
    target: str = Field(description="Id of the node the edge ends at.")
    target_handle: str = Field("in", description="Input handle of the target node, e.g. `in` or `tools`.")


class StickyNote(_Strict):
    """A free-text note on the canvas; it documents the graph and takes no part in runs."""

    id: str = Field(min_length=1, max_length=64, description="Note id, unique among the workflow's notes.")
    text: str = Field("", max_length=10_000, description="What the note says.")
    position: Position = Field(description="Where the note sits on the canvas.")
    width: float = Field(220, gt=0, le=4000, description="Width of the note in canvas pixels.", allow_inf_nan=False)
    height: float = Field(120, gt=0, le=4000, description="Height of the note in canvas pixels.", allow_inf_nan=False)


class WorkflowSettings(_Strict):
    """Settings that apply to a whole run of the workflow."""

    timeout_s: float = Field(
        300.0, gt=0, le=86400, description="A run taking longer than this many seconds is stopped."
    )


class WorkflowDocument(_Strict):
    """A Trellis workflow: the one JSON document the canvas edits, the store keeps and export writes."""

    format: Literal["trellis.workflow"] = Field(description="Always `trellis.workflow`.")
    format_version: Literal[1] = Field(description="Version of this document format.")
    name: str = Field(min_length=1, max_length=200, pattern=r"\S", description="Name of the workflow (not blank).")
    description: str = Field("", description="What the workflow does, for people reading the list.")
    nodes: list[NodeSpec] = Field(description="The nodes of the graph.")
    edges: list[EdgeSpec] = Field(default_factory=list, description="The wires between nodes.")
    settings: WorkflowSettings = Field(
        default_factory=WorkflowSettings, description="Settings for every run of this workflow."
    )
    notes: list[StickyNote] = Field(default_factory=list, description="Sticky notes shown on the canvas.")


def document_json_schema() -> dict[str, Any]:
    """The JSON Schema of a workflow document, as committed in `runtime/graph/workflow.schema.json`."""
    schema = WorkflowDocument.model_json_schema(mode="validation")
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["title"] = "Trellis workflow document"
    return schema


def dump_document(doc: WorkflowDocument) -> dict[str, Any]:
    """The canonical JSON-ready form of `doc`; validating it again gives back an equal dump."""
    return doc.model_dump(mode="json")
