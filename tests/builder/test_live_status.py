"""Live run status in the editor state: what one event changes, and what it costs on the wire."""

from __future__ import annotations

import json
from typing import Any

from builder.state.editor import EditorState
from runtime.events import Event


def event(type: str, node_id: str, seq: int = 1, **data: Any) -> Event:
    return Event(id=f"{seq}-0", type=type, run_id="run_x", node_id=node_id, seq=seq, time="t", data=data)


def state_with_nodes(count: int) -> EditorState:
    state = EditorState(_reflex_internal_init=True)
    state._doc = {"nodes": [], "edges": []}
    state._paint({f"n{i}": "queued" for i in range(count)})
    state._clean()
    return state


def test_one_status_change_sends_one_small_delta_not_the_graph() -> None:
    state = state_with_nodes(500)
    state._on_events([event("node_started", "n7")])
    delta = state.get_delta()
    (changed,) = delta.values()
    assert set(changed) == {"status_changes_rx_state_"}
    assert json.loads(json.dumps(changed))["status_changes_rx_state_"]["items"] == [[1, "n7", "running"]]
    assert len(json.dumps(delta)) < 1024


def test_events_map_to_node_statuses() -> None:
    state = state_with_nodes(3)
    state._on_events([
        event("node_started", "n0", 1), event("node_finished", "n0", 2),
        event("node_started", "n1", 3), event("node_failed", "n1", 4, will_retry=True),
        event("node_skipped", "n2", 5),
    ])  # fmt: skip
    assert state._status_map == {"n0": "succeeded", "n1": "running", "n2": "skipped"}
    state._on_events([event("node_failed", "n1", 6, will_retry=False)])
    assert state._status_map["n1"] == "failed"
    # The retry kept n1 running, so it made no change; each update repeats the recent window.
    assert state.status_changes["items"] == [
        [1, "n0", "running"], [2, "n0", "succeeded"], [3, "n1", "running"], [4, "n2", "skipped"], [5, "n1", "failed"],
    ]  # fmt: skip


def test_a_burst_is_one_update_and_a_resync_sends_the_whole_map() -> None:
    state = state_with_nodes(600)
    state._on_events([event("node_finished", f"n{i}", i + 1) for i in range(600)])
    items = state.status_changes["items"]
    assert len(items) == 500 and items[0][0] == 101  # the canvas sees a gap and asks for a snapshot
    state.resync_statuses({"seq": 0})
    assert state.statuses["seq"] == 600
    assert set(state.statuses["map"].values()) == {"succeeded"}


def test_tokens_stream_into_the_panel_for_the_selected_node_only() -> None:
    state = state_with_nodes(2)
    state.selected_id = "n0"
    state._on_events([event("node_token", "n0", 1, text="Hel"), event("node_token", "n1", 2, text="x"),
                      event("node_token", "n0", 3, text="lo")])  # fmt: skip
    assert state.tokens == "Hello"
    assert state._tokens["n1"] == "x"
