"""Alembic environment: migrates the database named by `runtime.store.migrate` or the settings."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

import runtime.store  # noqa: F401  (registers every table on SQLModel.metadata)
from runtime.config import get_settings
from runtime.store.checkpoint_tables import CHECKPOINT_TABLES
from runtime.store.engine import make_engine
from runtime.store.migrate import URL_ATTRIBUTE

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """The URL `upgrade_database` passed in, else `sqlalchemy.url` from alembic.ini, else the settings."""
    return (
        config.attributes.get(URL_ATTRIBUTE)
        or config.get_main_option("sqlalchemy.url")
        or get_settings().resolved_database_url
    )


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes the plain SQLAlchemy type a column stores, so revisions need only `sa`."""
    if kind != "type":
        return False
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, sa.Enum) and not obj.native_enum:
        return f"sa.String(length={obj.length})"
    if isinstance(obj, sa.JSON) and "postgresql" in obj._variant_mapping:
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Autogenerate compares only our models' tables: LangGraph's checkpoint tables are not models."""
    return not (type_ == "table" and name in CHECKPOINT_TABLES)


def run_migrations_offline() -> None:
    """Write the SQL to stdout (`alembic upgrade --sql`) instead of running it."""
    context.configure(url=database_url(), target_metadata=SQLModel.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the pending migrations against the database."""
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            is_sqlite = connection.dialect.name == "sqlite"
            if is_sqlite:
                # Batch mode rebuilds a table by dropping it; with foreign keys on, that drop would
                # cascade-delete child rows. The pragma only takes effect outside a transaction.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=SQLModel.metadata,
                render_as_batch=is_sqlite,
                render_item=render_item,
                include_name=include_name,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
