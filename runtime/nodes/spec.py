"""How a node type is declared (`NodeType`) and the explicit list of them (`Registry`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from runtime.nodes.context import NodeContext

HANDLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

RunFn = Callable[[Any, "NodeContext"], Awaitable[Any]]
"""`async def run(params: Params, ctx: NodeContext) -> output`: the output must be JSON-ready.

A node that chooses which output handles fire (if, switch) returns a `Routed`; otherwise every
output handle fires. Nodes raise `NodeError(retryable=...)` and never turn errors into output.
"""


@dataclass(frozen=True)
class Routed:
    """A node's output plus the output handles it fires; the branches on other handles are skipped."""

    output: Any
    handles: tuple[str, ...]


class NodeParams(BaseModel):
    """Base of every node type's `Params`: unknown keys are errors, so typos get reported."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class NodeType:
    """Everything the graph validator, the compiler and the editor palette know about a node type.

    `(type, version)` is the identity: `type` is never renamed, and a behaviour change bumps
    `version` while the old declaration stays registered for stored graphs.
    """

    type: str
    version: int
    title: str
    category: str
    description: str
    params: type[BaseModel]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    run: RunFn
    is_trigger: bool = False
    single_per_workflow: bool = False
    may_loop: bool = False
    credentials: tuple[str, ...] = ()
    # Types whose output handles depend on their params (switch): validated params -> handles.
    # When set, `outputs` holds the handles that always exist.
    dynamic_outputs: Callable[[Any], tuple[str, ...]] | None = None

    def __post_init__(self) -> None:
        if not HANDLE_PATTERN.match(self.type) or self.version < 1:
            raise ValueError(f"bad node type identity {self.type!r} v{self.version}")
        if self.is_trigger and self.inputs:
            raise ValueError(f"trigger {self.type!r} must not declare inputs")

    @property
    def key(self) -> tuple[str, int]:
        """`(type, version)`, the identity the registry files this declaration under."""
        return (self.type, self.version)

    def output_handles(self, params: Mapping[str, Any] | BaseModel) -> tuple[str, ...]:
        """The output handles a node of this type with these params has.

        `params` is either a validated `Params` instance or the raw dict from the document; a raw
        dict that is invalid raises `pydantic.ValidationError` for types with dynamic outputs.
        """
        if self.dynamic_outputs is None:
            return self.outputs
        model = params if isinstance(params, self.params) else self.params.model_validate(params)
        return self.dynamic_outputs(model)

    def catalog_entry(self) -> dict[str, Any]:
        """The JSON-ready description of this type that the editor palette and forms are built from."""
        return {
            "type": self.type,
            "version": self.version,
            "title": self.title,
            "category": self.category,
            "description": self.description,
            "params_schema": self.params.model_json_schema(),
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "dynamic_outputs": self.dynamic_outputs is not None,
            "is_trigger": self.is_trigger,
            "single_per_workflow": self.single_per_workflow,
            "may_loop": self.may_loop,
            "credentials": list(self.credentials),
        }


class Registry:
    """An explicit, fixed list of node types, looked up by `(type, version)`."""

    def __init__(self, node_types: Iterable[NodeType]) -> None:
        """Raises `ValueError` when two declarations share a `(type, version)`."""
        self._types: dict[tuple[str, int], NodeType] = {}
        for node_type in node_types:
            if node_type.key in self._types:
                raise ValueError(f"node type {node_type.type!r} version {node_type.version} is registered twice")
            self._types[node_type.key] = node_type

    def get(self, type: str, version: int) -> NodeType | None:
        """The declaration for `(type, version)`, or None when it is not registered."""
        return self._types.get((type, version))

    def versions(self, type: str) -> list[int]:
        """The registered versions of `type`, ascending; empty when the type is unknown."""
        return sorted(version for (name, version) in self._types if name == type)

    def types(self) -> list[str]:
        """Every registered type id, sorted, each once."""
        return sorted({name for (name, _) in self._types})

    def catalog(self) -> list[dict[str, Any]]:
        """One `NodeType.catalog_entry()` per registered declaration, in registration order."""
        return [node_type.catalog_entry() for node_type in self._types.values()]

    def __iter__(self) -> Iterator[NodeType]:
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)
