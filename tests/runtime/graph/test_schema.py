import json
from pathlib import Path

import pytest

from runtime.graph.generate import REGENERATE_COMMAND, SCHEMA_PATH, render_schema
from runtime.graph.schema import WorkflowDocument, document_json_schema, dump_document
from runtime.graph.validate import validate_document
from tests.runtime.graph.helpers import document, issues_of, node

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.json"))


def test_committed_schema_file_matches_the_models():
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == render_schema(), f"{SCHEMA_PATH.name} is stale; run `{REGENERATE_COMMAND}`"


def test_schema_forbids_unknown_keys_and_names_the_dialect():
    schema = document_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["NodeSpec"]["additionalProperties"] is False
    assert set(schema["required"]) == {"format", "format_version", "name", "nodes"}


def test_there_are_at_least_the_three_promised_examples():
    names = {path.name for path in EXAMPLES}
    assert {"webhook_answer.json", "llm_summary.json", "branch_if.json"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_validates_and_round_trips(path):
    doc = validate_document(path.read_text(encoding="utf-8"))
    dumped = dump_document(doc)
    assert dump_document(validate_document(dumped)) == dumped
    assert dump_document(validate_document(json.dumps(dumped))) == dumped


def test_dump_keeps_what_the_user_set_and_fills_document_defaults():
    raw = document([node("start", "manual_trigger", params={}, credentials={})])
    dumped = dump_document(validate_document(raw))
    assert dumped["settings"] == {"timeout_s": 300.0}
    assert dumped["description"] == ""
    assert dumped["nodes"][0]["params"] == {}
    assert dumped["nodes"][0]["position"] == {"x": 0.0, "y": 0.0}


def test_a_validated_document_object_is_accepted_as_input():
    doc = validate_document(document([node("start", "manual_trigger")]))
    assert isinstance(validate_document(doc), WorkflowDocument)


def test_numbers_in_strings_are_not_silently_converted():
    raw = document([node("start", "manual_trigger")])
    raw["nodes"][0]["type_version"] = "1"
    (issue,) = issues_of(raw)
    assert (issue.node_id, issue.field, issue.value) == ("start", "type_version", "1")
