"""Turning pydantic validation errors into `Issue`s with plain-English messages."""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from runtime.errors import Issue

# pydantic's own type names are kept as codes except where a clearer one exists.
_CODES = {"missing": "missing_field", "extra_forbidden": "unknown_field", "value_error": "invalid_value"}


def format_path(loc: Sequence[int | str]) -> str:
    """`("cases", 0, "name")` -> `cases[0].name`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def issues_from_error(
    error: ValidationError,
    model: type[BaseModel],
    *,
    node_id: str | None,
    prefix: Sequence[int | str] = (),
    strip: int = 0,
) -> list[Issue]:
    """One Issue per pydantic error of validating `model`.

    The field path is the error location with its first `strip` parts dropped and `prefix` put in
    front (so errors inside `nodes[3]` read `position.x` and carry the node's id instead).
    """
    issues = []
    for details in error.errors(include_url=False):
        field = format_path([*prefix, *details["loc"][strip:]]) or "document"
        issues.append(issue_from_details(details, model, node_id=node_id, field=field))
    return issues


def issue_from_details(details: ErrorDetails, model: type[BaseModel], *, node_id: str | None, field: str) -> Issue:
    """The Issue for one pydantic error raised while validating `model`, reported at `field`."""
    loc = details["loc"]
    kind = details["type"]
    name = loc[-1] if loc else "document"
    code = _CODES.get(kind, kind)
    if kind == "missing":
        return Issue(node_id, field, None, f"`{name}` is required but missing.", code)
    if kind == "extra_forbidden":
        message = f"`{name}` is not a known field; check the spelling."
        owner = _model_at(model, loc[:-1])
        if owner is not None:
            message += f" Allowed fields: {', '.join(owner.model_fields)}."
        return Issue(node_id, field, details["input"], message, code)
    message = details["msg"].removeprefix("Value error, ")
    message = message[:1].upper() + message[1:]
    if not message.endswith((".", "!", "?")):
        message += "."
    return Issue(node_id, field, details["input"], message, code)


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class that validates the value at `loc` inside `model`, if there is a single one."""
    current: Any = model
    for part in loc:
        current = _unwrap_optional(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is list and isinstance(part, int):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation
