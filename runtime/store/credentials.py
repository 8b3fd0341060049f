"""Stored credentials: a named, typed secret kept only as ciphertext."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from runtime.store.columns import id_field, ref_field, utcnow


# A secret a node uses (API key, token, ...); nodes name it by id, never by value.
class Credential(SQLModel, table=True):
    __tablename__ = "credential"

    id: str = id_field("cred")
    workspace_id: str = ref_field("workspace.id")
    name: str = Field(max_length=200)
    type: str = Field(max_length=64)
    ciphertext: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
