import pytest

from runtime.errors import WorkflowInvalid
from runtime.graph.validate import validate_document
from tests.runtime.graph.helpers import chain, document, edge, issues_of, node, single_issue


def llm(node_id: str = "ask", **params):
    return node(node_id, "llm", params={"model": "gpt-4o-mini", "prompt": "Hi", **params})


def test_a_valid_document_comes_back_as_a_model():
    doc = validate_document(chain(node("start", "manual_trigger"), llm(), node("done", "output")))
    assert [n.id for n in doc.nodes] == ["start", "ask", "done"]
    assert doc.edges[0].source_handle == "out"


def test_a_workflow_without_a_trigger_is_allowed():
    validate_document(chain(llm(), node("done", "output")))


def test_bad_json_text_says_where_it_breaks():
    (issue,) = issues_of('{"format": "trellis.workflow",\n "name": }')
    assert (issue.node_id, issue.field, issue.code) == (None, "document", "bad_json")
    assert "line 2, column 10" in issue.message
    assert issue.value == "}"


def test_json_bytes_are_accepted_and_nan_is_refused():
    validate_document(b'{"format": "trellis.workflow", "format_version": 1, "name": "x", "nodes": []}')
    (issue,) = issues_of(b'{"format": NaN}')
    assert issue.code == "bad_json" and "NaN" in issue.message


def test_a_document_that_is_not_an_object_is_refused_plainly():
    (issue,) = issues_of("[1, 2]")
    assert (issue.field, issue.value, issue.code) == ("document", "array", "not_an_object")


def test_structural_errors_inside_a_node_name_the_node():
    raw = chain(node("start", "manual_trigger"), llm())
    raw["nodes"][1]["position"] = {"x": "left", "y": 0}
    issue = single_issue(raw, "float_type")
    assert (issue.node_id, issue.field, issue.value) == ("ask", "position.x", "left")


def test_a_node_without_a_readable_id_is_named_by_its_index():
    raw = document([{"type": "manual_trigger", "type_version": 1, "position": {"x": 0, "y": 0}}])
    issue = single_issue(raw, "missing_field")
    assert (issue.node_id, issue.field, issue.value) == (None, "nodes[0].id", None)
    assert "required" in issue.message


def test_misspelt_keys_are_reported_with_the_allowed_ones():
    raw = chain(node("start", "manual_trigger"))
    raw["nodes"][0]["titel"] = "Start"
    issue = single_issue(raw, "unknown_field")
    assert (issue.node_id, issue.field, issue.value) == ("start", "titel", "Start")
    assert "title" in issue.message and "spelling" in issue.message


def test_document_level_fields_are_checked():
    raw = document([], name="", settings={"timeout_s": 0})
    codes = {(issue.field, issue.code) for issue in issues_of(raw)}
    assert ("name", "string_too_short") in codes
    assert ("settings.timeout_s", "greater_than") in codes


def test_duplicate_node_ids_are_reported_on_the_second_node():
    issue = single_issue(chain(llm("ask"), llm("ask")), "duplicate_node_id")
    assert (issue.node_id, issue.field, issue.value) == ("ask", "nodes[1].id", "ask")
    assert "nodes[0]" in issue.message and "unique" in issue.message


def test_node_ids_must_be_slugs_and_the_message_says_what_is_allowed():
    issue = single_issue(chain(node("Fetch Page", "manual_trigger")), "bad_node_id")
    assert (issue.node_id, issue.field, issue.value) == ("Fetch Page", "id", "Fetch Page")
    assert "lowercase letter" in issue.message and "'fetch_page'" in issue.message


def test_duplicate_edge_ids_are_reported():
    raw = document(
        [node("start", "manual_trigger"), llm("a"), llm("b")],
        [edge("e1", "start", "a"), edge("e1", "start", "b")],
    )
    issue = single_issue(raw, "duplicate_edge_id")
    assert (issue.node_id, issue.field, issue.value) == (None, "edges[1].id", "e1")


def test_edges_to_missing_nodes_are_dangling():
    raw = document([node("start", "manual_trigger")], [edge("e1", "start", "ghost")])
    issue = single_issue(raw, "unknown_node")
    assert (issue.node_id, issue.field, issue.value) == (None, "edges[0].target", "ghost")
    assert "no node has that id" in issue.message


def test_unknown_output_handle_lists_the_real_ones():
    raw = document(
        [node("check", "if", params={"condition": "{{ true }}"}), llm()],
        [edge("e1", "check", "ask", source_handle="yes")],
    )
    issue = single_issue(raw, "unknown_handle")
    assert (issue.node_id, issue.field, issue.value) == ("check", "edges[0].source_handle", "yes")
    assert "true, false" in issue.message


def test_unknown_input_handle_lists_the_real_ones():
    raw = document([llm("a"), llm("b")], [edge("e1", "a", "b", target_handle="tools")])
    issue = single_issue(raw, "unknown_handle")
    assert (issue.node_id, issue.field, issue.value) == ("b", "edges[0].target_handle", "tools")
    assert "its inputs: in" in issue.message


def test_agent_takes_tools_on_its_tools_handle():
    agent = node("agent", "agent", params={"model": "m", "prompt": "p"})
    fetch = node("fetch", "http_request", params={"url": "https://example.com"})
    validate_document(document([agent, fetch], [edge("e1", "fetch", "agent", target_handle="tools")]))


def test_switch_handles_come_from_its_cases():
    switch = node(
        "route",
        "switch",
        params={"value": "{{ trigger.body.kind }}", "cases": [{"name": "bug", "equals": "bug"}]},
    )
    raw = document(
        [switch, llm("a"), llm("b"), llm("c")],
        [
            edge("e1", "route", "a", source_handle="bug"),
            edge("e2", "route", "b", source_handle="default"),
            edge("e3", "route", "c", source_handle="feature"),
        ],
    )
    issue = single_issue(raw, "unknown_handle")
    assert (issue.field, issue.value) == ("edges[2].source_handle", "feature")
    assert "bug, default" in issue.message


def test_switch_with_invalid_cases_reports_the_cases_not_its_edges():
    switch = node("route", "switch", params={"value": "x", "cases": [{"name": "default", "equals": 1}]})
    raw = document([switch, llm()], [edge("e1", "route", "ask", source_handle="default")])
    (issue,) = issues_of(raw)
    assert (issue.node_id, issue.field, issue.code) == ("route", "params.cases", "invalid_value")
    assert "cannot be named 'default'" in issue.message


def test_unknown_type_suggests_a_close_one():
    issue = single_issue(chain(node("ask", "lm")), "unknown_type")
    assert (issue.node_id, issue.field, issue.value) == ("ask", "type", "lm")
    assert "Did you mean 'llm'" in issue.message


def test_unknown_type_version_lists_known_versions():
    raw = chain({**llm(), "type_version": 3})
    (issue,) = issues_of(raw)
    assert (issue.node_id, issue.field, issue.value, issue.code) == (
        "ask",
        "type_version",
        3,
        "unknown_type_version",
    )
    assert "known versions: 1" in issue.message


def test_missing_required_params_are_reported_per_field():
    issue = single_issue(chain(node("ask", "llm", params={"model": "m"})), "missing_field")
    assert (issue.node_id, issue.field, issue.value) == ("ask", "params.prompt", None)
    assert "`prompt` is required" in issue.message


def test_invalid_params_report_the_value():
    (issue,) = issues_of(chain(llm(temperature=3.5)))
    assert (issue.node_id, issue.field, issue.value) == ("ask", "params.temperature", 3.5)
    assert "less than or equal to 2" in issue.message


def test_nested_param_errors_have_a_full_path():
    switch = node("route", "switch", params={"value": "x", "cases": [{"name": "Big Ones", "equals": 1}]})
    (issue,) = issues_of(chain(switch))
    assert (issue.field, issue.value) == ("params.cases[0].name", "Big Ones")


def test_unknown_params_and_credential_slots_are_typos():
    raw = chain(llm(temprature=0.1) | {"credentials": {"open_ai": "cred_1"}})
    by_code = {issue.code: issue for issue in issues_of(raw)}
    assert by_code["unknown_field"].field == "params.temprature"
    assert "temperature" in by_code["unknown_field"].message
    credential = by_code["unknown_credential"]
    assert (credential.node_id, credential.field, credential.value) == (
        "ask",
        "credentials.open_ai",
        "cred_1",
    )
    assert "openai" in credential.message


def test_edges_into_a_trigger_are_refused():
    raw = document([llm(), node("start", "manual_trigger")], [edge("e1", "ask", "start")])
    (issue,) = issues_of(raw)
    assert (issue.node_id, issue.field, issue.value, issue.code) == (
        "start",
        "edges[0].target",
        "start",
        "edge_into_trigger",
    )
    assert "trigger" in issue.message


def test_only_one_webhook_trigger_per_workflow():
    raw = document([node("hook", "webhook_trigger"), node("hook_2", "webhook_trigger")])
    (issue,) = issues_of(raw)
    assert (issue.node_id, issue.field, issue.value, issue.code) == (
        "hook_2",
        "type",
        "webhook_trigger",
        "too_many_of_type",
    )
    assert "'hook'" in issue.message


def test_several_manual_triggers_are_fine():
    validate_document(document([node("a", "manual_trigger"), node("b", "manual_trigger")]))


def test_a_plain_cycle_is_rejected_with_its_nodes_and_edges():
    raw = document(
        [node("start", "manual_trigger"), llm("a"), llm("b"), llm("c")],
        [edge("e1", "start", "a"), edge("e2", "a", "b"), edge("e3", "b", "c"), edge("e4", "c", "a")],
    )
    (issue,) = issues_of(raw)
    assert (issue.node_id, issue.field, issue.value, issue.code) == ("a", "edges", ["a", "b", "c"], "cycle")
    assert "a -> b -> c -> a" in issue.message and "e2, e3, e4" in issue.message
    assert "loop" in issue.message


def test_a_self_loop_is_a_cycle():
    (issue,) = issues_of(document([llm("a")], [edge("e1", "a", "a")]))
    assert (issue.code, issue.value) == ("cycle", ["a"])


def test_a_cycle_through_a_loop_node_is_accepted():
    raw = document(
        [
            node("start", "manual_trigger"),
            node("each", "loop", params={"items": "{{ trigger.body }}"}),
            llm("a"),
            llm("b"),
        ],
        [
            edge("e1", "start", "each"),
            edge("e2", "each", "a", source_handle="item"),
            edge("e3", "a", "b"),
            edge("e4", "b", "each", target_handle="back"),
        ],
    )
    validate_document(raw)


def test_a_cycle_beside_a_loop_node_is_still_rejected():
    raw = document(
        [node("each", "loop", params={"items": "x"}), llm("a"), llm("b")],
        [
            edge("e1", "each", "a", source_handle="item"),
            edge("e2", "a", "b"),
            edge("e3", "b", "a"),
            edge("e4", "b", "each", target_handle="back"),
        ],
    )
    (issue,) = issues_of(raw)
    assert (issue.code, issue.value) == ("cycle", ["a", "b"])


def test_many_problems_are_reported_together():
    nodes = [
        node("start", "manual_trigger"),
        node("start", "manual_trigger"),
        node("Bad Id", "template", params={"template": "x"}),
        node("ask", "llm", type_version=7),
        node("say", "llm", params={"model": "m", "prompt": "p", "temperature": -1}),
        {**node("pos", "output"), "position": {"x": "far"}},
    ]
    edges = [
        edge("e1", "say", "nowhere"),
        edge("e2", "say", "start"),
        edge("e3", "say", "pos", source_handle="no"),
    ]
    raw = document(nodes, edges, format_version=9)
    with pytest.raises(WorkflowInvalid) as caught:
        validate_document(raw)
    codes = {issue.code for issue in caught.value.issues}
    expected = {
        "literal_error",
        "duplicate_node_id",
        "bad_node_id",
        "unknown_type_version",
        "greater_than_equal",
        "missing_field",
        "float_type",
        "unknown_node",
        "edge_into_trigger",
        "unknown_handle",
    }
    assert expected <= codes
    assert f"{len(caught.value.issues)} problem(s)" in str(caught.value)


def test_issues_are_json_ready():
    issue = issues_of(chain(llm(temperature=9)))[0]
    assert issue.to_dict() == {
        "node_id": "ask",
        "field": "params.temperature",
        "value": 9,
        "message": issue.message,
        "code": "less_than_equal",
    }


def test_types_are_looked_up_in_the_given_registry():
    from runtime.nodes import manual_trigger
    from runtime.nodes.spec import Registry

    only_triggers = Registry([manual_trigger.NODE])
    validate_document(document([node("start", "manual_trigger")]), registry=only_triggers)
    with pytest.raises(WorkflowInvalid) as caught:
        validate_document(document([node("start", "manual_trigger")]), registry=Registry([]))
    assert caught.value.issues[0].code == "unknown_type"


def test_a_blank_workflow_name_is_refused():
    raw = chain(node("start", "manual_trigger"))
    raw["name"] = "   "
    (issue,) = issues_of(raw)
    assert (issue.node_id, issue.field, issue.value) == (None, "name", "   ")
