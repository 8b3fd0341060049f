"""Column helpers shared by every table: prefixed ids, UTC timestamps, JSON and string-enum types."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from pydantic_core import PydanticUndefined
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

# Named constraints let Alembic alter or drop them later, including in SQLite batch mode.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 20  # 62**20 is about 2**119: unguessable and collision-free in practice.
_ID_LIMIT = 256 - 256 % len(_ID_ALPHABET)  # 248: random bytes below it map evenly onto the alphabet
ID_MAX_LENGTH = 32
"""Room for the longest prefix (`hook_`) plus the random part."""

JSONType = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL; Python `None` is stored as SQL NULL, not JSON `null`."""


def new_id(prefix: str) -> str:
    """A fresh primary key such as `wf_3kTq...`: the readable prefix, `_`, 20 random letters/digits."""
    # One read of the OS random source per id (secrets.choice reads it once per letter, a visible cost
    # at hundreds of runs per second); bytes past the last whole multiple of 62 are dropped, so no
    # letter is likelier than another.
    letters: list[str] = []
    while len(letters) < _ID_LENGTH:
        randoms = secrets.token_bytes(2 * _ID_LENGTH)
        letters += [_ID_ALPHABET[byte % len(_ID_ALPHABET)] for byte in randoms if byte < _ID_LIMIT]
    return f"{prefix}_{''.join(letters[:_ID_LENGTH])}"


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` with its UTC zone: SQLite hands timestamps back without one, though they were stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def str_enum(enum_type: type[StrEnum]) -> sa.Enum:
    """A VARCHAR column type holding the enum's values; adding a value later needs no migration."""
    return sa.Enum(
        enum_type,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


def id_field(prefix: str) -> Any:
    """A string primary key filled in with `new_id(prefix)`."""
    return Field(default_factory=lambda: new_id(prefix), primary_key=True, max_length=ID_MAX_LENGTH)


def ref_field(target: str, *, ondelete: Literal["CASCADE", "SET NULL"] = "CASCADE") -> Any:
    """An indexed foreign key to `target` (e.g. "workspace.id"); `SET NULL` ones are optional."""
    optional = ondelete == "SET NULL"
    return Field(
        default=None if optional else PydanticUndefined,
        foreign_key=target,
        ondelete=ondelete,
        index=True,
        max_length=ID_MAX_LENGTH,
    )
