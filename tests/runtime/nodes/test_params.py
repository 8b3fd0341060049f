import pytest
from pydantic import ValidationError

from runtime.nodes import REGISTRY

REQUIRED = {
    "manual_trigger": set(),
    "webhook_trigger": set(),
    "schedule_trigger": set(),
    "llm": {"model", "prompt"},
    "agent": {"model", "prompt"},
    "http_request": {"url"},
    "set": set(),
    "template": {"template"},
    "if": {"condition"},
    "switch": {"value"},
    "loop": {"items"},
    "merge": set(),
    "sub_workflow": {"workflow_id"},
    "output": set(),
}


def params_of(type_id: str):
    return REGISTRY.get(type_id, 1).params


@pytest.mark.parametrize("type_id", sorted(REQUIRED))
def test_required_params_are_exactly_the_documented_ones(type_id):
    schema = params_of(type_id).model_json_schema()
    assert set(schema.get("required", [])) == REQUIRED[type_id]


@pytest.mark.parametrize("type_id", sorted(REQUIRED))
def test_every_param_has_help_text(type_id):
    for name, field in params_of(type_id).model_fields.items():
        assert field.description, f"{type_id}.{name} has no description"


def test_webhook_defaults():
    params = params_of("webhook_trigger")()
    assert params.respond == "immediately"
    assert params.auth == "none"
    assert params.max_body_bytes == 1024 * 1024
    assert params.wait_s == 30
    assert params.rate_limit_per_minute == 60


def test_webhook_respond_modes_are_fixed():
    with pytest.raises(ValidationError):
        params_of("webhook_trigger")(respond="later")


def test_llm_defaults_and_temperature_range():
    params = params_of("llm")(model="gpt-4o-mini", prompt="Hello")
    assert (params.system, params.temperature, params.max_tokens, params.json_mode) == ("", 0.7, None, False)
    with pytest.raises(ValidationError):
        params_of("llm")(model="m", prompt="p", temperature=2.5)
    with pytest.raises(ValidationError):
        params_of("llm")(model="m", prompt="")


def test_agent_defaults_to_five_iterations():
    assert params_of("agent")(model="m", prompt="p").max_iterations == 5


def test_http_request_defaults_to_get_without_body():
    params = params_of("http_request")(url="https://example.com")
    assert (params.method, params.headers, params.query, params.body) == ("GET", {}, {}, None)
    with pytest.raises(ValidationError):
        params_of("http_request")(url="https://example.com", method="FETCH")


def test_merge_modes():
    assert params_of("merge")().mode == "object"
    assert params_of("merge")(mode="list").mode == "list"


def test_output_and_sub_workflow_default_to_the_previous_output():
    assert params_of("output")().value == ""
    assert params_of("sub_workflow")(workflow_id="wf_1").input == ""
