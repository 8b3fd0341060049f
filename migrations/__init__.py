"""Alembic migrations; `runtime.store.migrate` runs them."""
