"""Checking a workflow document completely, reporting every problem at once.

`validate_document` is what import, save and the compiler call. Beyond the document's shape it
checks the graph against the node library: ids, types and versions, params, credential slots,
edges and their handles, and cycles. Expressions are not evaluated here.
"""

from __future__ import annotations

import difflib
import json
import re
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ValidationError

from runtime.errors import Issue, WorkflowInvalid
from runtime.graph.cycles import find_cycles
from runtime.graph.pydantic_issues import format_path, issue_from_details, issues_from_error
from runtime.graph.readable import EdgePart, NodePart, read_edges, read_nodes, text_or_none
from runtime.graph.schema import WorkflowDocument, dump_document
from runtime.nodes import REGISTRY
from runtime.nodes.spec import NodeType, Registry

NODE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_NODE_ID_RULE = (
    "a node id must start with a lowercase letter followed by up to 62 lowercase letters, digits or underscores"
)


def validate_document(raw: Any, registry: Registry | None = None) -> WorkflowDocument:
    """The validated document, or `WorkflowInvalid` listing every problem found.

    `raw` is the parsed document (a dict), its JSON text (str or bytes), or a `WorkflowDocument`.
    Node types are looked up in `registry`, by default the built-in node library.
    """
    data = _load(raw)
    if not isinstance(data, dict):
        message = "A workflow document must be a JSON object with `format`, `name`, `nodes`, ..."
        raise WorkflowInvalid([Issue(None, "document", _json_type(data), message, "not_an_object")])
    issues: list[Issue] = []
    document: WorkflowDocument | None = None
    try:
        document = WorkflowDocument.model_validate(data)
    except ValidationError as error:
        issues.extend(_shape_issues(error, data))
    # The graph checks run on whatever parts are readable, so a shape problem in one node does
    # not hide a dangling edge or an unknown type elsewhere.
    issues.extend(_GraphChecks(read_nodes(data), read_edges(data), REGISTRY if registry is None else registry).run())
    if issues or document is None:
        raise WorkflowInvalid(issues)
    return document


def _load(raw: Any) -> Any:
    if isinstance(raw, WorkflowDocument):
        return dump_document(raw)
    if not isinstance(raw, str | bytes | bytearray):
        return raw
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        message = f"The document is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        near = error.doc[error.pos : error.pos + 40]
        raise WorkflowInvalid([Issue(None, "document", near, message, "bad_json")]) from None
    except (ValueError, RecursionError) as error:
        message = f"The document is not valid JSON: {error}."
        raise WorkflowInvalid([Issue(None, "document", None, message, "bad_json")]) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _shape_issues(error: ValidationError, data: dict[str, Any]) -> list[Issue]:
    issues = []
    for details in error.errors(include_url=False):
        loc = details["loc"]
        node_id = None
        if len(loc) > 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            node = data["nodes"][loc[1]]
            node_id = text_or_none(node.get("id")) if isinstance(node, dict) else None
        field = format_path(loc[2:] if node_id is not None else loc) or "document"
        issues.append(issue_from_details(details, WorkflowDocument, node_id=node_id, field=field))
    return issues


class _GraphChecks:
    """The checks that need the node library or the whole graph; `run()` returns their issues."""

    def __init__(self, nodes: list[NodePart], edges: list[EdgePart], registry: Registry) -> None:
        self.nodes = nodes
        self.edges = edges
        self.registry = registry
        self.issues: list[Issue] = []
        self.by_id: dict[str, NodePart] = {}
        self.node_types: dict[int, NodeType] = {}
        self.valid_params: dict[int, BaseModel] = {}

    def run(self) -> list[Issue]:
        for node in self.nodes:
            self._check_id(node)
            self._check_type(node)
        self._check_single_per_workflow()
        self._check_edges()
        self._check_cycles()
        return self.issues

    def _add(self, node_id: str | None, field: str, value: Any, message: str, code: str) -> None:
        self.issues.append(Issue(node_id, field, value, message, code))

    def _check_id(self, node: NodePart) -> None:
        if node.id is None:
            return
        if not NODE_ID_PATTERN.match(node.id):
            hint = _slug_hint(node.id)
            message = f"Invalid node id: {_NODE_ID_RULE}" + (f", e.g. {hint!r}." if hint else ".")
            self._add(node.id, "id", node.id, message, "bad_node_id")
        first = self.by_id.setdefault(node.id, node)
        if first is not node:
            message = f"Duplicate node id: nodes[{first.index}] already has the id {node.id!r}; ids must be unique."
            self._add(node.id, f"nodes[{node.index}].id", node.id, message, "duplicate_node_id")

    def _check_type(self, node: NodePart) -> None:
        if node.type is None or node.version is None:
            return
        node_type = self.registry.get(node.type, node.version)
        if node_type is None:
            self._report_unknown_type(node, node.type)
            return
        self.node_types[node.index] = node_type
        if node.params is not None:
            try:
                self.valid_params[node.index] = node_type.params.model_validate(node.params)
            except ValidationError as error:
                self.issues.extend(issues_from_error(error, node_type.params, node_id=node.id, prefix=["params"]))
        for slot, credential_id in (node.credentials or {}).items():
            if slot not in node_type.credentials:
                allowed = ", ".join(node_type.credentials) or "none"
                message = f"{node.type!r} nodes have no credential slot {slot!r}; their slots: {allowed}."
                self._add(node.id, f"credentials.{slot}", credential_id, message, "unknown_credential")

    def _report_unknown_type(self, node: NodePart, type_id: str) -> None:
        versions = self.registry.versions(type_id)
        if versions:
            known = ", ".join(str(version) for version in versions)
            message = f"Node type {type_id!r} has no version {node.version}; known versions: {known}."
            self._add(node.id, "type_version", node.version, message, "unknown_type_version")
            return
        close = difflib.get_close_matches(type_id, self.registry.types(), n=3)
        hint = f"Did you mean {' or '.join(map(repr, close))}?" if close else "It is not in the node library."
        self._add(node.id, "type", type_id, f"Unknown node type {type_id!r}. {hint}", "unknown_type")

    def _check_single_per_workflow(self) -> None:
        first_of: dict[str, NodePart] = {}
        for node in self.nodes:
            node_type = self.node_types.get(node.index)
            if node_type is None or not node_type.single_per_workflow:
                continue
            first = first_of.setdefault(node_type.type, node)
            if first is not node:
                message = f"A workflow may have only one {node_type.type!r} node; {first.id!r} already is one."
                self._add(node.id, "type", node_type.type, message, "too_many_of_type")

    def _check_edges(self) -> None:
        first_edge: dict[str, EdgePart] = {}
        for edge in self.edges:
            at = f"edges[{edge.index}]"
            if edge.id is not None and first_edge.setdefault(edge.id, edge) is not edge:
                first = first_edge[edge.id].index
                message = f"Duplicate edge id: edges[{first}] already has the id {edge.id!r}; ids must be unique."
                self._add(None, f"{at}.id", edge.id, message, "duplicate_edge_id")
            for end, node_id in (("source", edge.source), ("target", edge.target)):
                if node_id is not None and node_id not in self.by_id:
                    message = f"Edge {edge.id!r} has {end} {node_id!r}, but no node has that id."
                    self._add(None, f"{at}.{end}", node_id, message, "unknown_node")
            self._check_handles(edge, at)

    def _check_handles(self, edge: EdgePart, at: str) -> None:
        source = self.by_id.get(edge.source or "")
        source_type = self.node_types.get(source.index) if source else None
        if source and source_type and edge.source_handle is not None:
            outputs = self._outputs(source, source_type)
            if outputs is not None and edge.source_handle not in outputs:
                message = f"{source.id!r} ({source_type.type}) has no output {edge.source_handle!r}; " + (
                    f"its outputs: {', '.join(outputs)}." if outputs else "it has no outputs."
                )
                self._add(source.id, f"{at}.source_handle", edge.source_handle, message, "unknown_handle")
        target = self.by_id.get(edge.target or "")
        target_type = self.node_types.get(target.index) if target else None
        if not (target and target_type):
            return
        if target_type.is_trigger:
            message = (
                f"Edge {edge.id!r} leads into trigger {target.id!r}; a trigger starts the workflow and takes no input."
            )
            self._add(target.id, f"{at}.target", edge.target, message, "edge_into_trigger")
        elif edge.target_handle is not None and edge.target_handle not in target_type.inputs:
            message = (
                f"{target.id!r} ({target_type.type}) has no input {edge.target_handle!r}; "
                f"its inputs: {', '.join(target_type.inputs)}."
            )
            self._add(target.id, f"{at}.target_handle", edge.target_handle, message, "unknown_handle")

    def _outputs(self, node: NodePart, node_type: NodeType) -> tuple[str, ...] | None:
        if node_type.dynamic_outputs is None:
            return node_type.outputs
        params = self.valid_params.get(node.index)
        # Invalid params are already reported; guessing the handles would only add noise.
        return node_type.output_handles(params) if params is not None else None

    def _check_cycles(self) -> None:
        looping = {node_id for node_id, node in self.by_id.items() if self._may_loop(node)}
        ids = [node_id for node_id in self.by_id if node_id not in looping]
        wires = [(edge.source, edge.target) for edge in self.edges if edge.source and edge.target]
        edge_ids: dict[tuple[str | None, str | None], str | None] = {}
        for edge in self.edges:
            edge_ids.setdefault((edge.source, edge.target), edge.id)
        loop_types = sorted({node_type.type for node_type in self.registry if node_type.may_loop})
        allowed = f" Cycles may only pass through a {' or '.join(loop_types)} node." if loop_types else ""
        for cycle in find_cycles(ids, wires):
            path = " -> ".join(cycle)
            via = ", ".join(str(edge_ids[pair]) for pair in pairwise(cycle))
            message = f"These nodes form a cycle: {path} (edges {via}).{allowed}"
            self._add(cycle[0], "edges", cycle[:-1], message, "cycle")

    def _may_loop(self, node: NodePart) -> bool:
        node_type = self.node_types.get(node.index)
        return node_type is not None and node_type.may_loop


def _slug_hint(node_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", node_id.lower()).strip("_")
    if slug and not slug[0].isalpha():
        slug = f"n_{slug}"
    return slug[:63]
