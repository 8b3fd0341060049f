"""Key rotation benchmark: `trellis secrets rotate` over 1 000 credentials (target: under 10 s).

Usage: `.venv/bin/python bench/secrets_rotate.py [--credentials 1000] [--batch-size 200]` with PostgreSQL
on loopback (as `make test` sets up). Stores the credentials under an old key, rotates to a new one
with the real command, then checks every credential opens with the new key alone.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.config import Settings  # noqa: E402
from runtime.credentials import open_credential  # noqa: E402
from runtime.secrets import encrypt_fields, key_ring  # noqa: E402
from runtime.store import Credential, create_credential, ensure_database, make_engine, session_scope  # noqa: E402
from runtime.store.accounts import ensure_local_workspace  # noqa: E402

PG_SERVER = os.environ.get("TRELLIS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TRELLIS = str(Path(sys.executable).with_name("trellis"))


def store_credentials(url: str, count: int, ring: object) -> None:
    engine = make_engine(url)
    with session_scope(engine) as session:
        workspace_id = ensure_local_workspace(session).id
        for n in range(count):
            ciphertext = encrypt_fields({"api_key": f"sk-bench-{n:05d}-secret"}, ring)  # type: ignore[arg-type]
            create_credential(session, workspace_id, f"bench {n}", "openai", ciphertext)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    name = f"trellis_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        ensure_database(url)
        store_credentials(url, args.credentials, key_ring(Settings(secret_keys=old)))
        env = {**os.environ, "TRELLIS_DATABASE_URL": url, "TRELLIS_SECRET_KEYS": f"{new},{old}"}
        started = time.perf_counter()
        done = subprocess.run([TRELLIS, "secrets", "rotate", "--batch-size", str(args.batch_size)], env=env,
                              check=True, capture_output=True, text=True)  # fmt: skip
        command_s = time.perf_counter() - started
        elapsed = float(re.search(r"Done in ([0-9.]+) s", done.stdout).group(1))  # type: ignore[union-attr]
        ring = key_ring(Settings(secret_keys=new))
        engine = make_engine(url)
        with session_scope(engine) as session:
            rows = session.connection().execute(sa.select(Credential.plain_fields, Credential.ciphertext)).all()
            opened = sum(1 for plain, ciphertext in rows if open_credential(plain, ciphertext, ring)["api_key"])
        engine.dispose()
        verdict = "OK" if elapsed < 10 and opened == args.credentials else "OVER TARGET"
        print(f"trellis secrets rotate: {args.credentials} credentials re-encrypted in {elapsed:.2f} s "
              f"(batch {args.batch_size}; {command_s:.1f} s with process start and migration check); "
              f"{opened} open with the new key alone; target < 10 s: {verdict}")  # fmt: skip
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
