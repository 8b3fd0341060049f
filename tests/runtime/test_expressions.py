"""The expression sandbox: native values, data that stays data, escapes refused, caps enforced."""

from __future__ import annotations

import sys
import time

import pytest

from runtime import expression_limits
from runtime.expressions import ExpressionError, evaluate, render

SCOPE = {
    "trigger": {
        "body": {"items": [1, 2, 3], "name": "Ada", "amount": 250, "flag": True, "note": None},
        "headers": {"content-type": "application/json"},
        "query": {"page": "2"},
    },
    "nodes": {"fetch": {"output": {"text": "Rain falls.", "rows": [{"name": "a"}, {"name": "b"}]}}},
    "input": {"id": 7},
}


def scope_with_body(**body) -> dict:
    return {"trigger": {"body": body, "headers": {}, "query": {}}, "nodes": {}, "input": None}


# --- native values and rendering -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ trigger.body.items }}", [1, 2, 3]),
        ("{{ trigger.body.amount + 1 }}", 251),
        ("{{ trigger.body.flag }}", True),
        ("{{ trigger.body.note }}", None),
        ("{{ trigger.body }}", SCOPE["trigger"]["body"]),
        ("{{ nodes.fetch.output.rows|map(attribute='name')|list }}", ["a", "b"]),
        ("{{ nodes.fetch.output.rows|map(attribute='name') }}", ["a", "b"]),
        ("{{ range(3) }}", [0, 1, 2]),
        ("{{ (1, 'two') }}", [1, "two"]),
        ("{{ {'total': trigger.body.amount * 2} }}", {"total": 500}),
        ("  {{ input.id }}\n", 7),
        ("{{- input.id -}}", 7),
    ],
)
def test_a_single_expression_gives_its_native_value(text, expected):
    assert evaluate(text, SCOPE) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello {{ trigger.body.name }}!", "Hello Ada!"),
        ("{{ trigger.body.name }}{{ trigger.body.amount }}", "Ada250"),
        ("{% if trigger.body.amount > 100 %}big{% else %}small{% endif %}", "big"),
        ("{% for i in trigger.body.items %}{{ i }},{% endfor %}", "1,2,3,"),
    ],
)
def test_text_around_or_between_expressions_renders_to_a_string(text, expected):
    assert evaluate(text, SCOPE) == expected
    assert render(text, SCOPE) == expected


def test_render_always_gives_a_string():
    assert render("{{ trigger.body.items }}", SCOPE) == "[1, 2, 3]"
    assert render("{{ trigger.body.amount }}", SCOPE) == "250"


def test_text_without_markup_comes_back_unchanged():
    text = "plain text with { braces } and 100% of it"
    assert evaluate(text, SCOPE) is text
    assert render(text, SCOPE) is text


@pytest.mark.parametrize("payload", ["{{7*7}}", "${7*7}", "{% for x in range(9) %}x{% endfor %}", "{{ self }}"])
def test_values_from_data_are_never_rendered(payload):
    scope = scope_with_body(comment=payload)
    assert evaluate("{{ trigger.body.comment }}", scope) == payload
    assert render("Comment: {{ trigger.body.comment }}", scope) == f"Comment: {payload}"
    assert evaluate("{{ trigger.body }}", scope) == {"comment": payload}


def test_a_data_key_wins_over_a_method_of_the_same_name():
    scope = scope_with_body(items=["x"], keys="k", values=[1])
    assert evaluate("{{ trigger.body.items }}", scope) == ["x"]
    assert evaluate("{{ trigger.body.keys }}", scope) == "k"
    assert evaluate("{{ trigger.query.items()|list }}", SCOPE) == [["page", "2"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ 7 * 6 }}", 42),
        ("{{ 2 ** 10 }}", 1024),
        ("{{ 2 ** 0.5 > 1.41 }}", True),
        ("{{ 10 / 4 }}", 2.5),
        ("{{ 10 // 4 }}", 2),
        ("{{ 10 % 3 }}", 1),
        ("{{ -3 | abs }}", 3),
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ [0] * 3 }}", [0, 0, 0]),
        ("{{ [1, 2] + [3] }}", [1, 2, 3]),
        ("{{ 'x' ~ 1 ~ 'y' }}", "x1y"),
        ("{{ 'Hello'|upper }}", "HELLO"),
        ("{{ [3, 1, 2]|sort }}", [1, 2, 3]),
        ("{{ [3, 1, 2]|sum }}", 6),
        ("{{ ['a', 'b']|join(', ') }}", "a, b"),
        ("{{ missing|default('none') }}", "none"),
        ("{{ '%05d'|format(42) }}", "00042"),
        ("{{ '%s-%s' % ('a', 'b') }}", "a-b"),
        ("{{ '{:>4}|{}'.format(7, 'x') }}", "   7|x"),
        ("{{ '{n}!'.format_map({'n': 3}) }}", "3!"),
        ("{{ 'abc'|center(7) }}", "  abc  "),
        ("{{ 'a-b'.replace('-', '+') }}", "a+b"),
        ("{{ 'a b c'.split() }}", ["a", "b", "c"]),
        ("{{ {'b': 1}|tojson }}", '{"b": 1}'),
        ("{{ 'line1\nline2'|indent(2) }}", "line1\n  line2"),
        ("{{ 'x'|string|length }}", 1),
        ("{{ trigger.body.name is defined and 'Ad' in trigger.body.name }}", True),
    ],
)
def test_normal_maths_filters_and_methods_work(text, expected):
    assert evaluate(text, SCOPE) == expected


def test_the_same_template_renders_each_scope_on_its_own():
    assert render("Hi {{ trigger.body.name }}", scope_with_body(name="A")) == "Hi A"
    assert render("Hi {{ trigger.body.name }}", scope_with_body(name="B")) == "Hi B"


# --- errors ------------------------------------------------------------------------------------


def test_an_unknown_name_is_an_error_naming_it():
    with pytest.raises(ExpressionError, match=r"Expression '\{\{ customer.name \}\}' failed: 'customer' is undefined"):
        evaluate("{{ customer.name }}", SCOPE)
    with pytest.raises(ExpressionError, match="has no attribute 'missing'"):
        render("Hi {{ trigger.body.missing }}", SCOPE)


def test_a_syntax_error_says_so_with_the_line():
    with pytest.raises(ExpressionError, match="syntax error on line 2"):
        render("ok\n{{ 1 + }}", SCOPE)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ 'a' + 1 }}", "TypeError: can only concatenate str"),
        ("{{ lipsum }}", "not data"),
        ("{{ namespace(a=1) }}", "a namespace cannot be shown as text"),
    ],
)
def test_runtime_failures_are_expression_errors_in_words(text, reason):
    with pytest.raises(ExpressionError, match=reason):
        evaluate(text, SCOPE)


def test_a_long_expression_is_shortened_in_the_message():
    text = "{{ " + " + ".join(["trigger.body.amount"] * 20) + " + nope }}"
    with pytest.raises(ExpressionError) as raised:
        evaluate(text, SCOPE)
    message = str(raised.value)
    assert "…" in message and len(message) < 160 and "'nope' is undefined" in message


# --- escape corpus ----------------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ {}.__class__.__mro__[-1].__subclasses__() }}",
    "{{ (1).__class__.__base__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__()[100].__init__.__globals__['popen']('id').read() }}",
    "{{ trigger.__class__.__init__.__globals__ }}",
    "{{ trigger|attr('__init__')|attr('__globals__') }}",
    "{{ ''|attr('__class__') }}",
    "{{ (''|attr('__class__')|attr('__mro__'))[1] }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ ''['__class__'] }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ '{0.__class__.__mro__}'.format(trigger) }}",
    "{{ '{a.__class__}'.format_map({'a': ''}) }}",
    "{{ ('{0.__class__}'|attr('format'))('') }}",
    "{% set f = '{0.__class__}'.format %}{{ f('') }}",
    "{{ (['{0.__class__}']|map(attribute='format')|first)('') }}",
    "{{ '%s'|format(''.__class__) }}",
    "{{ ''.format.__self__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ lipsum.__globals__.__builtins__.__import__('os') }}",
    "{{ lipsum|attr('__globals__') }}",
    "{{ lipsum.__code__.co_consts }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ cycler(1, 2).__class__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ joiner().__call__.__globals__ }}",
    "{{ namespace.__init__.__globals__.os }}",
    "{{ namespace(a=1)._Namespace__attrs }}",
    "{{ namespace(a=1).__dict__ }}",
    "{{ range.__globals__ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ dict.mro()[-1].__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.environment }}",
    "{{ self.__dict__ }}",
    "{{ context }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ __import__('os') }}",
    "{{ eval('1') }}",
    "{{ getattr('', '__class__') }}",
    "{{ trigger.body.update({'x': 1}) }}",
    "{{ trigger.pop('body') }}",
    "{{ trigger.body.items.append(4) }}",
    "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
]


def test_the_escape_corpus_is_large_enough():
    assert len(ESCAPES) >= 30


@pytest.mark.parametrize("payload", ESCAPES)
@pytest.mark.parametrize("function", [evaluate, render])
def test_every_escape_attempt_is_an_expression_error(function, payload):
    with pytest.raises(ExpressionError):
        function(payload, SCOPE)
    assert SCOPE["trigger"]["body"]["items"] == [1, 2, 3] and "body" in SCOPE["trigger"]


# --- caps ------------------------------------------------------------------------------------


def fails_fast(text: str, match: str, seconds: float = 0.5) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError, match=match):
        evaluate(text, SCOPE)
    assert time.monotonic() - started < seconds


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{{ 'a' * 10**9 }}", "repeating this text or list would exceed the limit of 1,000,000"),
        ("{{ [1] * 10**9 }}", "repeating"),
        ("{{ 2 ** 100000000 }}", "the power"),
        ("{{ (2 ** 64) ** 200 }}", "the power"),
        ("{{ 2.0 ** 100000 }}", "too large"),
        ("{{ range(10**9)|list }}", "too large.*Range too big"),
        ("{{ '%999999999d' % 1 }}", "format width"),
        ("{{ '%*d' % (999999999, 1) }}", r"`\*` widths"),
        ("{{ '%999999999d'|format(1) }}", "format width"),
        ("{{ '{:>999999999}'.format(1) }}", "format width"),
        ("{{ '{:{}}'.format(1, 999999999) }}", "nested"),
        ("{{ 'a'.center(10**9) }}", "width of center"),
        ("{{ 'a'.zfill(10**9) }}", "width of zfill"),
        ("{{ 'a'|center(10**9) }}", "centered text"),
        ("{{ 'a\nb'|indent(999999999) }}", "indented text"),
        ("{{ ('\t' * 999999).expandtabs(999999) }}", "expandtabs"),
        ("{{ ('a' * 999999).replace('a', 'a' * 999999) }}", "after replace"),
        ("{{ ('a' * 999999)|replace('a', 'a' * 999999) }}", "after replace"),
        ("{{ ('x' * 999999).join(['a'] * 999999) }}", "joined text"),
        ("{{ ['a' * 1000000] * 1000000 }}", "text of this value"),
        ("{{ (['a' * 1000000] * 1000000)|join }}", "text of this value"),
        ("{{ (['a' * 1000000] * 1000000)|string }}", "text of this value"),
        ("{{ (['a' * 1000000] * 1000000)|tojson }}", "text of this value"),
        ("{{ 'x' ~ (['a' * 1000000] * 1000000) }}", "text of this value"),
        ("{{ [1]|batch(10**9, 'x')|list }}", "batch size"),
        ("{{ [[1] * 100000] * 1000|sum(start=[]) }}", "sum adds numbers"),
    ],
)
def test_operations_that_would_build_huge_values_fail_fast(text, match):
    fails_fast(text, match)


def test_doubling_in_a_loop_stops_at_the_value_cap():
    fails_fast(
        "{% set ns = namespace(s='a' * 1000000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "text of this value",
    )
    fails_fast(
        "{% set ns = namespace(l=['a' * 1000000]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}"
        "{% endfor %}{{ ns.l }}",
        "text of this value",
    )


def test_a_render_running_too_long_is_stopped_after_the_time_cap():
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="it took longer than 1 s"):
        render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", SCOPE)
    assert time.monotonic() - started < 1.5


def test_the_time_cap_is_a_setting(monkeypatch):
    monkeypatch.setattr(expression_limits, "MAX_RENDER_SECONDS", 0.1)
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="longer than 0.1 s"):
        evaluate("{{ lipsum(100000) }}", SCOPE)
    assert time.monotonic() - started < 0.5


def test_the_value_caps_are_settings(monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(expression_limits, "MAX_SEQUENCE", 10)
        patch.setattr(expression_limits, "MAX_VALUE_CHARS", 100)
        assert evaluate("{{ 'a' * 10 }}", SCOPE) == "a" * 10
        with pytest.raises(ExpressionError, match="repeating this text or list would exceed the limit of 10"):
            evaluate("{{ 'a' * 11 }}", SCOPE)
        with pytest.raises(ExpressionError, match="text of this value would exceed the limit of 100"):
            evaluate("{{ [trigger.body.text] }}", scope_with_body(text="x" * 100))
    assert expression_limits.MAX_SEQUENCE == 1_000_000
    assert len(evaluate("{{ 'a' * 11 }}", SCOPE)) == 11


def test_memory_growth_during_a_render_is_capped(monkeypatch):
    monkeypatch.setattr(expression_limits, "MAX_MEMORY_GROWTH_BYTES", 64 * 1024 * 1024)
    with pytest.raises(ExpressionError, match="more than 64 MiB of memory"):
        evaluate("{{ range(100000)|map('center', 900000)|list|length }}", SCOPE)


def test_the_previous_trace_function_is_restored_even_after_a_timeout(monkeypatch):
    monkeypatch.setattr(expression_limits, "MAX_RENDER_SECONDS", 0.05)

    def tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        assert render("{{ 1 }}", SCOPE) == "1"
        assert sys.gettrace() is tracer
        with pytest.raises(ExpressionError):
            render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", SCOPE)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)


def test_source_longer_than_the_cap_is_refused():
    text = "{{ 1 }}" + "x" * expression_limits.MAX_SOURCE_CHARS
    with pytest.raises(ExpressionError, match="longer than 65,536 characters"):
        render(text, SCOPE)


def test_output_longer_than_the_cap_is_refused():
    with pytest.raises(ExpressionError, match="output is longer than 1,048,576 characters"):
        render("{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}", SCOPE)
    assert len(render("{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}", SCOPE)) == 1_000_000
