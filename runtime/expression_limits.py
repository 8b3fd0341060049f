"""Caps on what one expression may cost: source and output size, wall time, memory and value sizes.

Jinja2's sandbox stops templates from reaching Python internals, but not from building huge values
(`{{ 'a' * 10**9 }}`, `{{ 2 ** 10**8 }}`, `'%999999999s'`) or looping for hours, so a single
workflow could exhaust a worker's memory or time (security notes, T4.3). The checks here refuse
such operations before they run; the trace hook stops whatever slips through on time or memory.

The MAX_* constants are read at each use; set them through `runtime.expressions`.
"""

from __future__ import annotations

import functools
import mmap
import re
import string
import time
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from itertools import chain
from types import FrameType
from typing import Any

from jinja2 import Undefined
from jinja2.utils import Namespace

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

_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_COLLECTIONS = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)
SEQUENCES = (str, bytes, list, tuple)
"""Types whose `+` and `*` build a new sequence of the combined length."""


class Refused(Exception):
    """A cap refused an operation; the message is the plain reason."""


class OutOfLimits(BaseException):
    """Raised from the trace hook; a BaseException so no `except Exception` in Jinja swallows it."""


def limits_hook() -> tuple[Callable[[FrameType, str, Any], Any], Callable[[], None]]:
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
                raise OutOfLimits(f"it took longer than {MAX_RENDER_SECONDS:g} s")
            if now >= next_memory_check:
                next_memory_check = now + 0.002
                if _resident_bytes() - memory_base > MAX_MEMORY_GROWTH_BYTES:
                    raise OutOfLimits(f"it used more than {MAX_MEMORY_GROWTH_BYTES // 2**20} MiB of memory")
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


def limit(size: int, cap: int, what: str) -> None:
    """Nothing when `size` is within `cap`; otherwise `Refused` saying `what` would exceed it."""
    if size > cap:
        raise Refused(f"{what} would exceed the limit of {cap:,}")


def text_size(value: Any, cap: int | None = None) -> int:
    """About `len(str(value))`, counting shared parts each time they show; refused past `cap`.

    `cap` defaults to MAX_VALUE_CHARS. Runs in time linear in the number of distinct objects, so
    a list holding the same huge list a million times is refused before anything turns it into text.
    """
    cap = MAX_VALUE_CHARS if cap is None else cap
    sizes: dict[int, int] = {}

    def size(item: Any) -> int:
        if isinstance(item, str | bytes):
            return len(item)
        if item is None or isinstance(item, bool | int | float | Undefined):
            return 24
        if isinstance(item, Namespace):
            raise Refused("a namespace cannot be shown as text; show its fields instead")
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
                limit(total, cap, "the text of this value")
        sizes[id(item)] = total
        return total

    return size(value)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `left <operator> right` when its result would be too large to build."""
    if operator == "*":
        _check_repeat(left, right)
    elif operator == "**":
        _check_power(left, right)
    elif operator == "+" and isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
        limit(len(left) + len(right), MAX_VALUE_CHARS, "the joined text or list")
    elif operator == "%" and isinstance(left, str | bytes):
        _check_printf(left, right)


def _check_repeat(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, SEQUENCES) and isinstance(times, int):
            limit(len(sequence) * max(times, 0), MAX_SEQUENCE, "repeating this text or list")
    if isinstance(left, int) and isinstance(right, int):
        limit(left.bit_length() + right.bit_length(), MAX_INT_BITS, "the product (in bits)")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        limit(base.bit_length() * exponent, MAX_INT_BITS, "the power (in bits)")


def _check_printf(template: Any, values: Any) -> None:
    text_size(template)
    text = template.decode("latin-1") if isinstance(template, bytes) else str(template)
    for width in (number for spec in _PRINTF_SPEC.findall(text) for number in spec if number):
        if width == "*":
            raise Refused("`*` widths in % formatting are not supported")
        limit(int(width), MAX_SEQUENCE, "a % format width")
    text_size(values)


def check_format(template: str, args: Any, kwargs: Any) -> None:
    """Refuse `template.format(*args, **kwargs)` when its widths or values are too large."""
    for _, _, spec, _ in string.Formatter().parse(template):
        if spec and "{" in spec:
            raise Refused("nested {} in a format spec are not supported")
        for width in re.findall(r"\d+", spec or ""):
            limit(int(width), MAX_SEQUENCE, "a format width")
    text_size((args, kwargs))


def check_text_method(text: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse text methods whose result would be far larger than their inputs."""
    first = args[0] if args else next(iter(kwargs.values()), None)
    if name in {"center", "ljust", "rjust", "zfill"} and isinstance(first, int):
        limit(first, MAX_SEQUENCE, f"the width of {name}()")
    elif name == "expandtabs":
        tabsize = first if isinstance(first, int) else 8
        limit(len(text) * max(tabsize, 1), MAX_VALUE_CHARS, "the text after expandtabs()")
    elif name == "replace" and len(args) >= 2:
        _check_replace(text, args[0], args[1], args[2] if len(args) > 2 else None)
    elif name == "join" and args:
        limit(len(text) * len(args[0]), MAX_VALUE_CHARS, "the joined text")
        text_size(args[0])
    elif name == "translate" and isinstance(text, str):
        raise Refused("text.translate() is not supported in expressions")


def _check_replace(text: Any, old: Any, new: Any, count: Any) -> None:
    text_size((text, old, new))
    text, old, new = str(text), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    limit(len(text) + found * max(len(new) - len(old), 0), MAX_VALUE_CHARS, "the text after replace")


def _check_text_filter(value: Any, *args: Any, **kwargs: Any) -> None:
    text_size(value)


def _check_join(value: Any, separator: Any = "", attribute: Any = None) -> None:
    limit(text_size(separator) * len(value), MAX_VALUE_CHARS, "the joined text")
    text_size(value)


def _check_indent(text: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
    prefix = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    lines = (text.count("\n") if isinstance(text, str) else text_size(text)) + 1
    limit(text_size(text) + lines * prefix, MAX_VALUE_CHARS, "the indented text")


def _check_wordwrap(text: Any, width: Any = 79, breaks: Any = True, wrapstring: Any = None, *_: Any) -> None:
    lines = text_size(text) // max(width if isinstance(width, int) else 1, 1) + 1
    limit(lines * text_size(wrapstring or "\n"), MAX_VALUE_CHARS, "the wrapped text")


def _check_tojson(value: Any, indent: Any = None) -> None:
    text_size(value)
    limit(len(indent) if isinstance(indent, str) else indent or 0, MAX_JSON_INDENT, "the tojson indent")


def _check_sum(value: Any, attribute: Any = None, start: Any = 0) -> None:
    if not isinstance(start, int | float):
        raise Refused("sum adds numbers; use join for texts")


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "batch": lambda value, linecount, *_: limit(linecount, MAX_SEQUENCE, "the batch size"),
    "center": lambda value, width=80: limit(text_size(value) + width, MAX_SEQUENCE, "the centered text"),
    "format": lambda value, *args, **kwargs: _check_printf(value, (args, kwargs)),
    "indent": _check_indent,
    "join": _check_join,
    "replace": lambda text, old, new, count=None: _check_replace(text, old, new, count),
    "sum": _check_sum,
    "tojson": _check_tojson,
    "urlize": lambda value, *args, **kwargs: limit(
        (text_size(value) // 4 + 1) * text_size((args, kwargs)), MAX_VALUE_CHARS, "the linked text"
    ),
    "wordwrap": _check_wordwrap,
    **dict.fromkeys(
        ["capitalize", "e", "escape", "forceescape", "list", "pprint", "safe", "string", "striptags"]
        + ["title", "lower", "upper", "trim", "truncate", "urlencode", "wordcount", "xmlattr"],
        _check_text_filter,
    ),
}


def guarded_filters(filters: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Replacements for the filters in `filters` that can build huge values, each checked first."""
    return {name: _guarded_filter(filters[name], check) for name, check in _FILTER_CHECKS.items()}


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
