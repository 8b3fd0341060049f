import pytest
from pydantic import BaseModel, ValidationError

from runtime.nodes import REGISTRY
from runtime.nodes.spec import NodeParams, NodeType, Registry

CONTRACT_TYPES = {
    "manual_trigger",
    "webhook_trigger",
    "schedule_trigger",
    "llm",
    "agent",
    "approval",
    "http_request",
    "set",
    "template",
    "if",
    "switch",
    "loop",
    "merge",
    "sub_workflow",
    "output",
}


class _Params(NodeParams):
    pass


async def _run(params: _Params, ctx) -> None:
    return None


def _declare(type: str = "thing", version: int = 1, **fields) -> NodeType:
    defaults = {
        "title": "Thing",
        "category": "data",
        "description": "Does a thing.",
        "params": _Params,
        "inputs": ("in",),
        "outputs": ("out",),
        "run": _run,
    }
    return NodeType(type=type, version=version, **(defaults | fields))


def test_registry_holds_every_contract_type_at_version_1():
    assert set(REGISTRY.types()) == CONTRACT_TYPES
    for type_id in CONTRACT_TYPES:
        assert REGISTRY.get(type_id, 1) is not None


def test_registry_rejects_a_duplicate_type_and_version():
    with pytest.raises(ValueError, match="'thing' version 1 is registered twice"):
        Registry([_declare(), _declare(title="Other")])


def test_registry_keeps_several_versions_of_a_type():
    registry = Registry([_declare(version=2), _declare(version=1)])
    assert registry.versions("thing") == [1, 2]
    assert registry.get("thing", 3) is None
    assert registry.versions("other") == []
    assert len(registry) == 2


def test_catalog_describes_every_type_with_its_params_schema():
    catalog = REGISTRY.catalog()
    assert {entry["type"] for entry in catalog} == CONTRACT_TYPES
    for entry in catalog:
        assert entry["params_schema"]["type"] == "object"
        assert entry["params_schema"]["additionalProperties"] is False
        assert entry["title"] and entry["category"] and entry["description"]
        assert isinstance(entry["inputs"], list) and isinstance(entry["outputs"], list)


def test_catalog_entries_show_handles_and_flags():
    by_type = {entry["type"]: entry for entry in REGISTRY.catalog()}
    assert by_type["if"]["outputs"] == ["true", "false"]
    assert by_type["loop"]["inputs"] == ["in", "back"] and by_type["loop"]["may_loop"] is True
    assert by_type["agent"]["inputs"] == ["in", "tools"]
    assert by_type["switch"]["dynamic_outputs"] is True
    assert by_type["webhook_trigger"]["single_per_workflow"] is True
    assert by_type["llm"]["credentials"] == ["openai"]
    assert by_type["output"]["outputs"] == []


def test_triggers_have_no_inputs_and_one_output():
    for node_type in REGISTRY:
        if node_type.is_trigger:
            assert (node_type.inputs, node_type.outputs) == ((), ("out",))


def test_a_trigger_declaring_inputs_is_a_programming_error():
    with pytest.raises(ValueError, match="must not declare inputs"):
        _declare(is_trigger=True)


def test_type_ids_must_be_slugs():
    with pytest.raises(ValueError, match="bad node type identity"):
        _declare(type="Bad Type")


def test_descriptions_come_from_the_module_docstring():
    from runtime.nodes import llm

    assert REGISTRY.get("llm", 1).description == llm.__doc__.strip()


def test_switch_output_handles_follow_its_cases():
    switch = REGISTRY.get("switch", 1)
    params = {"value": "{{ x }}", "cases": [{"name": "small", "equals": 1}, {"name": "big", "equals": 2}]}
    assert switch.output_handles(params) == ("small", "big", "default")
    assert switch.output_handles(switch.params.model_validate(params)) == ("small", "big", "default")
    assert switch.output_handles({"value": "x"}) == ("default",)
    with pytest.raises(ValidationError):
        switch.output_handles({"value": "x", "cases": [{"name": "a", "equals": 1}, {"name": "a", "equals": 2}]})


def test_static_types_ignore_params_for_their_handles():
    assert REGISTRY.get("if", 1).output_handles({}) == ("true", "false")


def test_node_types_are_immutable():
    with pytest.raises(AttributeError):
        REGISTRY.get("llm", 1).title = "Changed"  # type: ignore[misc]


def test_every_params_model_is_a_pydantic_model_forbidding_extras():
    for node_type in REGISTRY:
        assert issubclass(node_type.params, BaseModel)
        assert node_type.params.model_config.get("extra") == "forbid"
