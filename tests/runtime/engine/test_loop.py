"""Loops through the real engine: per-item branches in order, `loop.item`, results and failures."""

from __future__ import annotations

from tests.runtime.engine.helpers import document, edge, execute, node

TRIGGER = node("start", "manual_trigger")


def setter(node_id: str, **fields: str) -> dict:
    return node(node_id, "set", params={"fields": fields})


def looping(*branch: dict, items: str = "{{ trigger.body.items }}", extra_edges: tuple[dict, ...] = ()) -> dict:
    """start -> each (loop) -item-> branch[0] -> ... -> branch[-1] -back-> each -done-> result."""
    chain = [edge(f"b{i}", a["id"], b["id"]) for i, (a, b) in enumerate(zip(branch, branch[1:], strict=False))]
    return document(
        [TRIGGER, node("each", "loop", params={"items": items}), *branch, node("result", "output")],
        [
            edge("e1", "start", "each"),
            edge("e2", "each", branch[0]["id"], source_handle="item"),
            *chain,
            edge("e3", branch[-1]["id"], "each", target_handle="back"),
            edge("e4", "each", "result", source_handle="done"),
            *extra_edges,
        ],
    )


def test_a_loop_runs_its_branch_per_item_in_order_and_collects_what_comes_back():
    raw = looping(
        setter("double", value="{{ loop.item * 2 }}", index="{{ loop.index }}", seen="{{ input }}"),
        setter("label", text="#{{ loop.index }}: {{ input.value }}"),
    )
    run = execute(raw, {"items": [3, 1, 2]})
    assert run.outcome.status == "succeeded"
    assert run.outcome.output == [{"text": "#0: 6"}, {"text": "#1: 2"}, {"text": "#2: 4"}]
    assert [data["output"] for kind, data in run.of("double") if kind == "node_finished"] == [
        {"value": 6, "index": 0, "seen": 3},
        {"value": 2, "index": 1, "seen": 1},
        {"value": 4, "index": 2, "seen": 2},
    ]
    assert [(kind, data["item_index"]) for kind, data in run.of("label")] == [
        ("node_started", 0),
        ("node_finished", 0),
        ("node_started", 1),
        ("node_finished", 1),
        ("node_started", 2),
        ("node_finished", 2),
    ]
    assert run.kinds("each") == ["node_started", "node_finished"]
    loop_events = [(kind, source) for kind, source, _ in run.events if source in ("each", "double")]
    assert loop_events[0] == ("node_started", "each") and loop_events[-1] == ("node_finished", "each")


def test_a_loop_over_an_empty_list_outputs_an_empty_list_and_skips_its_branch():
    run = execute(looping(setter("double", value="{{ loop.item * 2 }}")), {"items": []})
    assert run.outcome.output == []
    assert run.skipped() == ["double"]


def test_a_branch_sees_nodes_that_ran_before_the_loop():
    raw = looping(setter("tag", text="{{ nodes.start.output.prefix }}-{{ loop.item }}"))
    assert execute(raw, {"prefix": "p", "items": ["a", "b"]}).outcome.output == [{"text": "p-a"}, {"text": "p-b"}]


def test_items_the_branch_routes_away_from_back_add_nothing():
    check = node("keep", "if", params={"condition": "{{ loop.item > 1 }}"})
    raw = looping(check, setter("kept", value="{{ loop.item }}"))
    raw["edges"] = [e for e in raw["edges"] if e["id"] != "b0"]
    raw["edges"].append(edge("b0", "keep", "kept", source_handle="true"))
    assert execute(raw, {"items": [1, 5, 0, 7]}).outcome.output == [{"value": 5}, {"value": 7}]


def test_items_that_are_not_a_list_fail_the_loop_naming_what_they_are():
    run = execute(looping(setter("double", value="{{ loop.item }}")), {"items": {"a": 1}})
    assert run.outcome.status == "failed"
    assert run.outcome.error["node_id"] == "each"
    assert "must give a list" in run.outcome.error["message"]
    assert "an object" in run.outcome.error["message"]


def test_a_failing_branch_node_fails_the_loop_with_the_item_index():
    failing = node("flaky", "flaky", params={"failures": 1, "retryable": False})
    raw = looping(setter("ok", value="{{ loop.item }}"), failing)
    run = execute(raw, {"items": [1, 2]})
    assert run.outcome.status == "failed"
    assert run.outcome.error["node_id"] == "each"
    assert run.outcome.error["message"] == "Item 0 failed at node 'flaky': upstream refused attempt 1"
    assert run.kinds("flaky") == ["node_started", "node_failed"]
    assert run.kinds("result") == []


def test_loops_nest_with_the_inner_item_in_scope():
    raw = document(
        [
            TRIGGER,
            node("rows", "loop", params={"items": "{{ trigger.body.rows }}"}),
            node("cells", "loop", params={"items": "{{ loop.item }}"}),
            setter("cell", value="{{ loop.item * 10 }}"),
            node("result", "output"),
        ],
        [
            edge("e1", "start", "rows"),
            edge("e2", "rows", "cells", source_handle="item"),
            edge("e3", "cells", "cell", source_handle="item"),
            edge("e4", "cell", "cells", target_handle="back"),
            edge("e5", "cells", "rows", source_handle="done", target_handle="back"),
            edge("e6", "rows", "result", source_handle="done"),
        ],
    )
    run = execute(raw, {"rows": [[1, 2], [3]]})
    assert run.outcome.output == [[{"value": 10}, {"value": 20}], [{"value": 30}]]


def test_a_loop_runs_in_a_checkpointed_run():
    # The per-item branch has no checkpointer of its own; it must not inherit the run's "sync" durability.
    from langgraph.checkpoint.memory import InMemorySaver

    raw = looping(setter("double", value="{{ loop.item * 2 }}"))
    run = execute(raw, {"items": [1, 2]}, checkpointer=InMemorySaver())
    assert run.outcome.status == "succeeded"
    assert run.outcome.output == [{"value": 2}, {"value": 4}]
