"""Durable runs on the engine side: the LangGraph config of a checkpointed run and what a resume restores.

A run's checkpoints live in LangGraph's checkpointer tables under `thread_id` = the run id; each
superstep is stored before the next starts (`durability="sync"`), so a resumed run re-runs at most
the node(s) that were in flight. The checkpointer itself (PostgreSQL or SQLite, fenced by the run's
lease) is made by `runtime.executor.checkpointer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from runtime.engine.state import CHANNEL_PREFIX

LEASE_EPOCH_KEY = "lease_epoch"
"""Configurable key carrying the lease epoch the writer holds; a fenced checkpointer refuses others."""


def checkpoint_config(run_id: str, lease_epoch: int | None = None) -> dict[str, Any]:
    """The `configurable` part of a checkpointed run's LangGraph config: its thread is the run."""
    configurable: dict[str, Any] = {"thread_id": run_id, "checkpoint_ns": ""}
    if lease_epoch is not None:
        configurable[LEASE_EPOCH_KEY] = lease_epoch
    return configurable


@dataclass
class Progress:
    """What a run's last checkpoint says happened: outputs of the nodes that ran, in finishing order."""

    results: dict[str, Any] = field(default_factory=dict)
    """Output by node id of every node that ran (including writes saved for a superstep cut short)."""
    handles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The output handles each of those nodes fired."""
    last_finished: str | None = None


async def stored_progress(checkpointer: BaseCheckpointSaver, run_id: str) -> Progress | None:
    """The progress stored for `run_id`, or None when it has no checkpoint (nothing to resume from).

    Nodes that finished in the same superstep count in channel-version order; the writes of nodes that
    finished in a superstep that did not complete (its sibling was in flight) count after those.
    """
    stored = await checkpointer.aget_tuple({"configurable": checkpoint_config(run_id)})
    if stored is None:
        return None
    checkpoint = stored.checkpoint
    versions = checkpoint.get("channel_versions", {})
    settled = sorted(checkpoint.get("channel_values", {}).items(), key=lambda item: _order(versions.get(item[0])))
    cut_short = [(channel, value) for _task, channel, value in stored.pending_writes or ()]
    progress = Progress()
    for key, slot in [*settled, *cut_short]:
        if key.startswith(CHANNEL_PREFIX) and isinstance(slot, dict) and slot.get("ran"):
            node_id = key[len(CHANNEL_PREFIX) :]
            progress.results[node_id] = slot["output"]
            progress.handles[node_id] = tuple(slot.get("handles", ()))
            progress.last_finished = node_id
    return progress


def _order(version: Any) -> tuple[int, str]:
    """Sort key of a channel version: savers use zero-padded strings, the in-memory one integers."""
    return (0, f"{version:032d}") if isinstance(version, int) else (1, str(version))
