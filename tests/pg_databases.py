"""Fresh PostgreSQL databases for tests and benches, dropped afterwards."""

from __future__ import annotations

import uuid

import sqlalchemy as sa


class PgDatabases:
    """Creates fresh, uniquely named databases on the test PostgreSQL server and drops them."""

    def __init__(self, server_url: str) -> None:
        self.server_url = sa.make_url(server_url)
        self.admin = sa.create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        self.created: set[str] = set()

    def __call__(self) -> str:
        """The URL of a new, empty database."""
        name = f"trellis_test_{uuid.uuid4().hex[:16]}"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.created.add(name)
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop the database at `url`, closing any connection still open to it."""
        name = sa.make_url(url).database
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.discard(str(name))

    def drop_all(self) -> None:
        """Drop every database this object created and still exists, then release the admin pool."""
        for name in list(self.created):
            self.drop(self.server_url.set(database=name).render_as_string(hide_password=False))
        self.admin.dispose()
