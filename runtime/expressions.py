"""Expressions: `{{ ... }}` in string params, rendered in Jinja2's immutable sandbox.

Templates come from workflow authors; the values they read (`trigger`, `nodes`) are data and are
never rendered themselves. Every render runs under the caps of `runtime.expression_limits` on
source size, output size, wall time, memory growth and on the few operations that can build huge
values in one step; set the caps there (`expression_limits.MAX_RENDER_SECONDS`, ...).
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Generator, ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, TypeVar, cast

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError
from jinja2.nodes import Concat
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runtime import expression_limits as limits
from runtime.errors import WorkflowError
from runtime.expression_limits import OutOfLimits, Refused, text_size

__all__ = ["CACHE_SIZE", "ExpressionError", "evaluate", "render"]

CACHE_SIZE = 512
_MARKERS = ("{{", "{%", "{#")
_SINGLE = re.compile(r"\{\{-?(?P<expr>.*?)-?\}\}", re.DOTALL)
_T = TypeVar("_T")


class ExpressionError(WorkflowError):
    """An expression could not be rendered; the message says which and why."""


def render(text: str, scope: Mapping[str, Any]) -> str:
    """`text` with every `{{ ... }}` rendered against `scope`; text without markup comes back as is."""
    if not any(marker in text for marker in _MARKERS):
        return text
    return _limited(text, lambda: _render(text, scope))


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """The native value when `text` is exactly one `{{ ... }}`, else `render(text, scope)`.

    A native value is JSON-ready data: lists, objects, text, numbers, booleans or None.
    """
    match = _SINGLE.fullmatch(text.strip())
    if match is None or any(marker in match["expr"] for marker in (*_MARKERS, "}}")):
        return render(text, scope)
    return _limited(text, lambda: _to_data(_expression(match["expr"])(dict(scope))))


def _render(text: str, scope: Mapping[str, Any]) -> str:
    chunks: list[str] = []
    size = 0
    stream = cast(Generator[str, None, None], _template(text).generate(dict(scope)))
    try:
        for chunk in stream:
            size += len(chunk)
            if size > limits.MAX_OUTPUT_CHARS:
                raise Refused(f"the output is longer than {limits.MAX_OUTPUT_CHARS:,} characters")
            chunks.append(chunk)
    finally:
        stream.close()
    return "".join(chunks)


def _limited(text: str, work: Callable[[], _T]) -> _T:
    """Run `work` under the source, time and memory caps, turning every failure into ExpressionError."""
    if len(text) > limits.MAX_SOURCE_CHARS:
        raise ExpressionError(_message(text, f"it is longer than {limits.MAX_SOURCE_CHARS:,} characters"))
    trace, stop = limits.limits_hook()
    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        return work()
    except (Exception, OutOfLimits) as error:
        raise ExpressionError(_message(text, _reason(error))) from error
    finally:
        stop()
        sys.settrace(previous)


def _message(text: str, reason: str) -> str:
    shown = " ".join(text.split())
    shown = shown if len(shown) <= 80 else shown[:79] + "…"
    return f"Expression {shown!r} failed: {reason}"


def _reason(error: BaseException) -> str:
    if isinstance(error, TemplateSyntaxError):
        return f"syntax error on line {error.lineno}: {error.message}"
    if isinstance(error, SecurityError):
        return f"not allowed: {error}"
    if isinstance(error, ZeroDivisionError):
        return "division by zero"
    if isinstance(error, RecursionError):
        return "it is nested too deeply"
    if isinstance(error, MemoryError):
        return "it ran out of memory"
    if isinstance(error, OverflowError):
        return f"a number or range is too large ({error})"
    if isinstance(error, Refused | OutOfLimits) or type(error).__module__.startswith("jinja2"):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _to_data(value: Any) -> Any:
    """`value` as JSON-ready data (generators and tuples become lists), refused when too large."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text_size(value)
    if isinstance(value, str):
        return str(value)
    return json.loads(json.dumps(value, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises the error naming what is missing.
    if isinstance(value, Iterator | range | set | frozenset | KeysView | ValuesView | ItemsView):
        items = list(value)
        text_size(items)
        return items
    raise Refused(f"the result holds a {type(value).__name__}, which is not data (text, number, list or object)")


class _CodeGenerator(CodeGenerator):
    """Compiles `a ~ b` into a call the sandbox can check, instead of a plain string join."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox plus caps on the operators and calls that can build huge values."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, finalize=self._finalize)
        self.filters.update(limits.guarded_filters(self.filters))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        limits.check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str | bytes):
            if args and isinstance(args[0], Iterator):
                args = (list(args[0]), *args[1:])
            limits.check_text_method(owner, obj.__name__, args, kwargs)
        return super().call(context, obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None

        def checked(*args: Any, **kwargs: Any) -> str:
            limits.check_format(value.__self__, args, kwargs)
            return sandboxed(*args, **kwargs)

        return checked

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Workflow data is JSON: `body.items` means the key "items", not the dict method.
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    @staticmethod
    def checked_concat(parts: tuple[Any, ...]) -> str:
        text_size(parts)
        return "".join(map(str, parts))

    @staticmethod
    def _finalize(value: Any) -> Any:
        text_size(value, limits.MAX_OUTPUT_CHARS)
        return value


_ENV = _Sandbox()


@functools.lru_cache(maxsize=CACHE_SIZE)
def _template(source: str) -> Template:
    return _ENV.from_string(source)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _expression(source: str) -> TemplateExpression:
    return _ENV.compile_expression(source, undefined_to_none=False)
