"""Runs through the real engine and node library: chains, branches, joins, entries and results."""

from __future__ import annotations

import pytest

from tests.runtime.engine.helpers import document, edge, execute, node

TRIGGER = node("start", "manual_trigger")


def setter(node_id: str, **fields: str) -> dict:
    return node(node_id, "set", params={"fields": fields})


def test_a_chain_runs_in_order_and_each_node_sees_its_input_and_earlier_outputs():
    raw = document(
        [
            TRIGGER,
            setter("add", total="{{ trigger.body.n + 1 }}"),
            setter("double", total="{{ input.total * 2 }}", first="{{ nodes.add.output.total }}"),
            node("result", "output", params={"value": "{{ nodes.double.output }}"}),
        ],
        [edge("e1", "start", "add"), edge("e2", "add", "double"), edge("e3", "double", "result")],
    )
    run = execute(raw, {"n": 4})
    assert run.outcome.status == "succeeded"
    assert run.outcome.output == {"total": 10, "first": 5}
    assert [(kind, source) for kind, source, _ in run.events] == [
        (kind, node_id)
        for node_id in ("start", "add", "double", "result")
        for kind in ("node_started", "node_finished")
    ]
    started, finished = (data for _, data in run.of("double"))
    assert started == {"attempt": 1, "input": {"total": 5}}
    assert finished["attempt"] == 1 and finished["output"] == {"total": 10, "first": 5}
    assert finished["duration_ms"] >= 0


def branching(condition: str) -> dict:
    return document(
        [
            TRIGGER,
            node("check", "if", params={"condition": condition}),
            setter("big", label="big"),
            setter("small", label="small"),
            setter("after_big", seen="{{ nodes.big.output.label }}"),
        ],
        [
            edge("e1", "start", "check"),
            edge("e2", "check", "big", source_handle="true"),
            edge("e3", "check", "small", source_handle="false"),
            edge("e4", "big", "after_big"),
        ],
    )


@pytest.mark.parametrize(
    ("n", "taken", "skipped"), [(20, ["big", "after_big"], ["small"]), (1, ["small"], ["big", "after_big"])]
)
def test_if_runs_only_the_branch_it_routes_to_and_reports_the_rest_skipped(n, taken, skipped):
    run = execute(branching("{{ trigger.body.n > 10 }}"), {"n": n})
    assert run.outcome.status == "succeeded"
    for node_id in taken:
        assert run.kinds(node_id) == ["node_started", "node_finished"]
    for node_id in skipped:
        assert run.kinds(node_id) == ["node_skipped"]
    assert run.skipped() == skipped
    assert run.outcome.output == ({"seen": "big"} if n > 10 else {"label": "small"})


@pytest.mark.parametrize(("kind", "taken"), [("r", "red"), ("g", "green"), ("x", "other")])
def test_switch_follows_the_matching_case_or_default(kind, taken):
    cases = [{"name": "red", "equals": "r"}, {"name": "green", "equals": "g"}]
    raw = document(
        [
            TRIGGER,
            node("pick", "switch", params={"value": "{{ trigger.body.kind }}", "cases": cases}),
            setter("red", colour="red"),
            setter("green", colour="green"),
            setter("other", colour="other"),
        ],
        [
            edge("e1", "start", "pick"),
            edge("e2", "pick", "red", source_handle="red"),
            edge("e3", "pick", "green", source_handle="green"),
            edge("e4", "pick", "other", source_handle="default"),
        ],
    )
    run = execute(raw, {"kind": kind})
    assert run.outcome.output == {"colour": taken}
    assert sorted(run.skipped()) == sorted({"red", "green", "other"} - {taken})


def joined(mode: str) -> dict:
    """start -> check -(true)-> slow -> twice -> join; start -> side -> join; join -> result."""
    return document(
        [
            TRIGGER,
            node("check", "if", params={"condition": "{{ trigger.body.take }}"}),
            setter("slow", value="slow"),
            setter("twice", value="{{ input.value * 2 }}"),
            setter("side", value="side"),
            node("join", "merge", params={"mode": mode}),
            node("result", "output"),
        ],
        [
            edge("e1", "start", "check"),
            edge("e2", "check", "slow", source_handle="true"),
            edge("e3", "slow", "twice"),
            edge("e4", "twice", "join"),
            edge("e5", "start", "side"),
            edge("e6", "side", "join"),
            edge("e7", "join", "result"),
        ],
    )


@pytest.mark.parametrize(
    ("mode", "take", "expected"),
    [
        ("object", True, {"twice": {"value": "slowslow"}, "side": {"value": "side"}}),
        ("object", False, {"side": {"value": "side"}}),
        ("list", True, [{"value": "slowslow"}, {"value": "side"}]),
        ("list", False, [{"value": "side"}]),
    ],
)
def test_merge_waits_for_every_branch_that_can_run_and_runs_once(mode, take, expected):
    run = execute(joined(mode), {"take": take})
    assert run.outcome.status == "succeeded"
    assert run.kinds("join") == ["node_started", "node_finished"]
    assert run.outcome.output == expected
    assert run.skipped() == ([] if take else ["slow", "twice"])


def test_merges_feeding_merges_each_run_once():
    raw = document(
        [
            TRIGGER,
            node("check", "if", params={"condition": "{{ false }}"}),
            setter("a", v="a"),
            setter("b", v="b"),
            node("inner", "merge"),
            setter("c", v="c"),
            node("outer", "merge", params={"mode": "list"}),
        ],
        [
            edge("e1", "start", "check"),
            edge("e2", "check", "a", source_handle="true"),
            edge("e3", "start", "b"),
            edge("e4", "a", "inner"),
            edge("e5", "b", "inner"),
            edge("e6", "inner", "outer"),
            edge("e7", "start", "c"),
            edge("e8", "c", "outer"),
        ],
    )
    run = execute(raw, {})
    assert run.kinds("inner") == ["node_started", "node_finished"]
    assert run.kinds("outer") == ["node_started", "node_finished"]
    assert run.outcome.output == [{"b": {"v": "b"}}, {"v": "c"}]


def test_a_node_whose_only_branch_is_skipped_is_skipped_even_when_joined():
    raw = document(
        [TRIGGER, node("check", "if", params={"condition": "{{ false }}"}), setter("a", v="a"), node("join", "merge")],
        [
            edge("e1", "start", "check"),
            edge("e2", "check", "a", source_handle="true"),
            edge("e3", "check", "join", source_handle="true"),
            edge("e4", "a", "join"),
        ],
    )
    run = execute(raw, {})
    assert run.skipped() == ["a", "join"]
    assert run.outcome.output == run.of("check")[-1][1]["output"]  # the last node that finished


def test_a_run_starts_at_the_trigger_and_nodes_wired_to_nothing_are_skipped():
    raw = document([setter("loose", v="loose"), TRIGGER, setter("a", v="a")], [edge("e1", "start", "a")])
    run = execute(raw, {})
    assert run.skipped() == ["loose"]
    assert run.outcome.output == {"v": "a"}


def test_without_a_trigger_every_node_without_inputs_starts():
    raw = document([setter("one", v="{{ trigger.body.x }}"), setter("two", v="2")])
    run = execute(raw, {"x": 1})
    assert run.kinds("one") == run.kinds("two") == ["node_started", "node_finished"]
    assert run.of("one")[0][1]["input"] == {"x": 1}


def test_several_output_nodes_give_a_result_by_node_id_of_those_that_ran():
    raw = document(
        [
            TRIGGER,
            node("check", "if", params={"condition": "{{ true }}"}),
            node("yes", "output", params={"value": "yes"}),
            node("no", "output", params={"value": "no"}),
            node("always", "output", params={"value": "{{ trigger.body.n }}"}),
        ],
        [
            edge("e1", "start", "check"),
            edge("e2", "check", "yes", source_handle="true"),
            edge("e3", "check", "no", source_handle="false"),
            edge("e4", "start", "always"),
        ],
    )
    assert execute(raw, {"n": 3}).outcome.output == {"yes": "yes", "always": 3}
