"""Expressions: `{{ ... }}` in string params, rendered in Jinja2's immutable sandbox.

Templates come from workflow authors; the values they read (`trigger`, `nodes`) are data and are
never rendered themselves. Every render runs under caps on source size, output size, wall time,
memory growth and on the few operations that can build huge values in one step.
"""

from __future__ import annotations

import functools
import json
import mmap
import re
import string
import sys
import time
from collections.abc import Callable, Generator, ItemsView, Iterator, KeysView, Mapping, ValuesView
from itertools import chain
from types import FrameType
from typing import Any, TypeVar, cast

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError
from jinja2.nodes import Concat
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from runtime.errors import WorkflowError

MAX_SOURCE_CHARS = 64 * 1024
MAX_OUTPUT_CHARS = 1024 * 1024
MAX_RENDER_SECONDS = 1.0
MAX_SEQUENCE = 1_000_000
"""Largest result of repeating a text or list, and the largest padding width."""
MAX_VALUE_CHARS = 16 * 1024 * 1024
"""Largest text an expression may build or turn a value into, and the largest native result."""
MAX_INT_BITS = 8192
MAX_MEMORY_GROWTH_BYTES = 256 * 1024 * 1024
MAX_JSON_INDENT = 8
CACHE_SIZE = 512

_MARKERS = ("{{", "{%", "{#")
_SINGLE = re.compile(r"\{\{-?(?P<expr>.*?)-?\}\}", re.DOTALL)
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_T = TypeVar("_T")
_COLLECTIONS = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)
_SEQUENCES = (str, bytes, list, tuple)


class ExpressionError(WorkflowError):
    """An expression could not be rendered; the message says which and why."""


class _Refused(Exception):
    """A cap refused an operation; the message is the plain reason."""


class _OutOfLimits(BaseException):
    """Raised from the trace hook; a BaseException so no `except Exception` in Jinja swallows it."""


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
            if size > MAX_OUTPUT_CHARS:
                raise _Refused(f"the output is longer than {MAX_OUTPUT_CHARS:,} characters")
            chunks.append(chunk)
    finally:
        stream.close()
    return "".join(chunks)


def _limited(text: str, work: Callable[[], _T]) -> _T:
    """Run `work` under the source, time and memory caps, turning every failure into ExpressionError."""
    if len(text) > MAX_SOURCE_CHARS:
        raise ExpressionError(_message(text, f"it is longer than {MAX_SOURCE_CHARS:,} characters"))
    trace, stop = _limits_hook()
    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        return work()
    except (Exception, _OutOfLimits) as error:
        raise ExpressionError(_message(text, _reason(error))) from error
    finally:
        stop()
        sys.settrace(previous)


def _limits_hook() -> tuple[Callable[[FrameType, str, Any], Any], Callable[[], None]]:
    """A trace hook that stops the work once it runs too long or grows the process too much.

    Returns the hook and a function that disarms it (for generator frames that outlive the work).
    """
    deadline = time.monotonic() + MAX_RENDER_SECONDS
    memory_base = _resident_bytes()
    next_memory_check = 0.0
    events = 0
    armed = True

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal events, next_memory_check
        events += 1
        if not events % 32:  # Sampling keeps the hook cheap; 32 events take microseconds.
            if not armed:
                return None
            now = time.monotonic()
            if now > deadline:
                raise _OutOfLimits(f"it took longer than {MAX_RENDER_SECONDS:g} s")
            if now >= next_memory_check:
                next_memory_check = now + 0.002
                if _resident_bytes() - memory_base > MAX_MEMORY_GROWTH_BYTES:
                    raise _OutOfLimits(f"it used more than {MAX_MEMORY_GROWTH_BYTES // 2**20} MiB of memory")
        # Line events only inside compiled templates: that is where loops without calls live.
        return trace if frame.f_code.co_filename == "<template>" else None

    def stop() -> None:
        nonlocal armed
        armed = False

    return trace, stop


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * mmap.PAGESIZE
    except (OSError, IndexError, ValueError):
        return 0


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
    if isinstance(error, _Refused | _OutOfLimits) or type(error).__module__.startswith("jinja2"):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _limit(size: int, cap: int, what: str) -> None:
    if size > cap:
        raise _Refused(f"{what} would exceed the limit of {cap:,}")


def _text_size(value: Any, cap: int = MAX_VALUE_CHARS) -> int:
    """About `len(str(value))`, counting shared parts each time they show; refused past `cap`.

    Runs in time linear in the number of distinct objects, so a list holding the same huge list
    a million times is refused before anything turns it into text.
    """
    sizes: dict[int, int] = {}

    def size(item: Any) -> int:
        if isinstance(item, str | bytes):
            return len(item)
        if item is None or isinstance(item, bool | int | float | Undefined):
            return 24
        if isinstance(item, Namespace):
            raise _Refused("a namespace cannot be shown as text; show its fields instead")
        if id(item) in sizes:
            return sizes[id(item)]
        total = 0 if isinstance(item, (Mapping, *_COLLECTIONS)) else 80
        children = chain.from_iterable(item.items()) if isinstance(item, Mapping) else item if total == 0 else ()
        for child in children:
            if isinstance(child, str):
                total += len(child) + 2
            elif child is None or isinstance(child, bool | int | float):
                total += 26
            else:
                total += size(child) + 2
            if total > cap:
                _limit(total, cap, "the text of this value")
        sizes[id(item)] = total
        return total

    return size(value)


def _to_data(value: Any) -> Any:
    """`value` as JSON-ready data (generators and tuples become lists), refused when too large."""
    if value is None or isinstance(value, bool | int | float):
        return value
    _text_size(value)
    if isinstance(value, str):
        return str(value)
    return json.loads(json.dumps(value, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises the error naming what is missing.
    if isinstance(value, Iterator | range | set | frozenset | KeysView | ValuesView | ItemsView):
        items = list(value)
        _text_size(items)
        return items
    raise _Refused(f"the result holds a {type(value).__name__}, which is not data (text, number, list or object)")


def _check_repeat(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, _SEQUENCES) and isinstance(times, int):
            _limit(len(sequence) * max(times, 0), MAX_SEQUENCE, "repeating this text or list")
    if isinstance(left, int) and isinstance(right, int):
        _limit(left.bit_length() + right.bit_length(), MAX_INT_BITS, "the product (in bits)")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        _limit(base.bit_length() * exponent, MAX_INT_BITS, "the power (in bits)")


def _check_printf(template: Any, values: Any) -> None:
    _text_size(template)
    text = template.decode("latin-1") if isinstance(template, bytes) else str(template)
    for width in (number for spec in _PRINTF_SPEC.findall(text) for number in spec if number):
        if width == "*":
            raise _Refused("`*` widths in % formatting are not supported")
        _limit(int(width), MAX_SEQUENCE, "a % format width")
    _text_size(values)


def _check_format(template: str, args: Any, kwargs: Any) -> None:
    for _, _, spec, _ in string.Formatter().parse(template):
        if spec and "{" in spec:
            raise _Refused("nested {} in a format spec are not supported")
        for width in re.findall(r"\d+", spec or ""):
            _limit(int(width), MAX_SEQUENCE, "a format width")
    _text_size((args, kwargs))


def _check_text_method(text: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse text methods whose result would be far larger than their inputs."""
    first = args[0] if args else next(iter(kwargs.values()), None)
    if name in {"center", "ljust", "rjust", "zfill"} and isinstance(first, int):
        _limit(first, MAX_SEQUENCE, f"the width of {name}()")
    elif name == "expandtabs":
        tabsize = first if isinstance(first, int) else 8
        _limit(len(text) * max(tabsize, 1), MAX_VALUE_CHARS, "the text after expandtabs()")
    elif name == "replace" and len(args) >= 2:
        _check_replace(text, args[0], args[1], args[2] if len(args) > 2 else None)
    elif name == "join" and args:
        _limit(len(text) * len(args[0]), MAX_VALUE_CHARS, "the joined text")
        _text_size(args[0])
    elif name == "translate" and isinstance(text, str):
        raise _Refused("text.translate() is not supported in expressions")


def _check_replace(text: Any, old: Any, new: Any, count: Any) -> None:
    _text_size((text, old, new))
    text, old, new = str(text), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    _limit(len(text) + found * max(len(new) - len(old), 0), MAX_VALUE_CHARS, "the text after replace")


def _check_text_filter(value: Any, *args: Any, **kwargs: Any) -> None:
    _text_size(value)


def _check_join(value: Any, separator: Any = "", attribute: Any = None) -> None:
    _limit(_text_size(separator) * len(value), MAX_VALUE_CHARS, "the joined text")
    _text_size(value)


def _check_indent(text: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
    prefix = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    lines = (text.count("\n") if isinstance(text, str) else _text_size(text)) + 1
    _limit(_text_size(text) + lines * prefix, MAX_VALUE_CHARS, "the indented text")


def _check_wordwrap(text: Any, width: Any = 79, breaks: Any = True, wrapstring: Any = None, *_: Any) -> None:
    lines = _text_size(text) // max(width if isinstance(width, int) else 1, 1) + 1
    _limit(lines * _text_size(wrapstring or "\n"), MAX_VALUE_CHARS, "the wrapped text")


def _check_tojson(value: Any, indent: Any = None) -> None:
    _text_size(value)
    _limit(len(indent) if isinstance(indent, str) else indent or 0, MAX_JSON_INDENT, "the tojson indent")


def _check_sum(value: Any, attribute: Any = None, start: Any = 0) -> None:
    if not isinstance(start, int | float):
        raise _Refused("sum adds numbers; use join for texts")


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "batch": lambda value, linecount, *_: _limit(linecount, MAX_SEQUENCE, "the batch size"),
    "center": lambda value, width=80: _limit(_text_size(value) + width, MAX_SEQUENCE, "the centered text"),
    "format": lambda value, *args, **kwargs: _check_printf(value, (args, kwargs)),
    "indent": _check_indent,
    "join": _check_join,
    "replace": lambda text, old, new, count=None: _check_replace(text, old, new, count),
    "sum": _check_sum,
    "tojson": _check_tojson,
    "urlize": lambda value, *args, **kwargs: _limit(
        (_text_size(value) // 4 + 1) * _text_size((args, kwargs)), MAX_VALUE_CHARS, "the linked text"
    ),
    "wordwrap": _check_wordwrap,
    **dict.fromkeys(
        ["capitalize", "e", "escape", "forceescape", "list", "pprint", "safe", "string", "striptags"]
        + ["title", "lower", "upper", "trim", "truncate", "urlencode", "wordcount", "xmlattr"],
        _check_text_filter,
    ),
}


def _guarded_filter(func: Callable[..., Any], check: Callable[..., None]) -> Callable[..., Any]:
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        value = args[skip] if len(args) > skip else None
        if isinstance(value, Iterator):
            # The check reads the value, so a one-shot generator becomes a list first.
            args = (*args[:skip], list(value), *args[skip + 1 :])
        elif check is _check_text_filter and isinstance(value, str | int | float):
            return func(*args, **kwargs)
        check(*args[skip:], **kwargs)
        return func(*args, **kwargs)

    return guarded


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
        for name, check in _FILTER_CHECKS.items():
            self.filters[name] = _guarded_filter(self.filters[name], check)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            _limit(len(left) + len(right), MAX_VALUE_CHARS, "the joined text or list")
        elif operator == "%" and isinstance(left, str | bytes):
            _check_printf(left, right)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str | bytes):
            if args and isinstance(args[0], Iterator):
                args = (list(args[0]), *args[1:])
            _check_text_method(owner, obj.__name__, args, kwargs)
        return super().call(context, obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format(value.__self__, args, kwargs)
            return sandboxed(*args, **kwargs)

        return checked

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Workflow data is JSON: `body.items` means the key "items", not the dict method.
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    @staticmethod
    def checked_concat(parts: tuple[Any, ...]) -> str:
        _text_size(parts)
        return "".join(map(str, parts))

    @staticmethod
    def _finalize(value: Any) -> Any:
        _text_size(value, MAX_OUTPUT_CHARS)
        return value


_ENV = _Sandbox()


@functools.lru_cache(maxsize=CACHE_SIZE)
def _template(source: str) -> Template:
    return _ENV.from_string(source)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _expression(source: str) -> TemplateExpression:
    return _ENV.compile_expression(source, undefined_to_none=False)
