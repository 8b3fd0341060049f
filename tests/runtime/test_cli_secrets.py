"""The key ring from the command line, as real processes: production refuses to start without keys,
zero-setup makes a private key file, a wrong key stops start-up with one message, and
`trellis secrets rotate` moves everything to a new key so the old one can be dropped."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from runtime.config import Settings
from runtime.credentials import open_credential
from runtime.secrets import key_ring
from runtime.store import Credential, make_engine, session_scope
from tests.conftest import PgDatabases
from tests.processes import TRELLIS

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
QUEUE_URL = os.environ.get("TRELLIS_TEST_QUEUE_REDIS_URL", "redis://127.0.0.1:6379/15")


def trellis(*args: str, database_url: str, data_dir: Path, keys: str | None, stdin: str = "",
            **settings: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`trellis ARGS` with exactly these keys (None: TRELLIS_SECRET_KEYS unset)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRELLIS_")}
    env |= {"TRELLIS_DATABASE_URL": database_url, "TRELLIS_DATA_DIR": str(data_dir), **settings}
    if keys is not None:
        env["TRELLIS_SECRET_KEYS"] = keys
    return subprocess.run([TRELLIS, *args], env=env, input=stdin, capture_output=True, text=True, timeout=180)


@pytest.fixture
def pg_url(make_pg_database: PgDatabases) -> str:
    return make_pg_database()


@pytest.mark.parametrize("command", [["worker", "--burst"], ["scheduler"], ["serve"]])
def test_production_refuses_to_start_without_keys(command: list[str], pg_url: str, tmp_path: Path) -> None:
    result = trellis(*command, database_url=pg_url, data_dir=tmp_path, keys=None, TRELLIS_REDIS_URL=QUEUE_URL)

    assert result.returncode == 1
    assert "TRELLIS_SECRET_KEYS (or TRELLIS_SECRET_KEYS_FILE) must be set in production" in result.stderr
    assert not (tmp_path / "secret.key").exists()


def test_production_on_sqlite_also_needs_keys(tmp_path: Path) -> None:
    result = trellis("scheduler", database_url=f"sqlite:///{tmp_path / 't.db'}", data_dir=tmp_path, keys=None,
                     TRELLIS_ENV="production")  # fmt: skip
    assert result.returncode == 1 and "must be set in production" in result.stderr


def test_zero_setup_creates_a_private_key_file_and_warns(tmp_path: Path) -> None:
    result = trellis("worker", "--burst", database_url=f"sqlite:///{tmp_path / 't.db'}", data_dir=tmp_path,
                     keys=None, TRELLIS_REDIS_URL=QUEUE_URL)  # fmt: skip

    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "Generated the secret key file" in result.stderr


def test_a_wrong_key_stops_start_up_with_one_clear_message(pg_url: str, tmp_path: Path) -> None:
    first = trellis("worker", "--burst", database_url=pg_url, data_dir=tmp_path, keys=OLD, TRELLIS_REDIS_URL=QUEUE_URL)
    assert first.returncode == 0, first.stderr

    wrong = trellis("worker", "--burst", database_url=pg_url, data_dir=tmp_path, keys=NEW, TRELLIS_REDIS_URL=QUEUE_URL)

    assert wrong.returncode == 1
    message = wrong.stderr.strip()
    assert message.startswith("Error: The secret keys from TRELLIS_SECRET_KEYS")
    assert "encrypted with another key" in message and "Traceback" not in message
    assert NEW not in message


def test_rotate_then_drop_the_old_key(pg_url: str, tmp_path: Path) -> None:
    def run(*args: str, keys: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return trellis(*args, database_url=pg_url, data_dir=tmp_path, keys=keys, stdin=stdin)

    ids = []
    for n in range(5):
        added = run("credential", "add", f"key {n}", "--type", "openai", keys=OLD,
                    stdin=json.dumps({"api_key": f"sk-rotate-{n}-secret"}))  # fmt: skip
        assert added.returncode == 0, added.stderr
        ids.append(added.stdout.strip())
    first_start = trellis("worker", "--burst", database_url=pg_url, data_dir=tmp_path, keys=OLD,
                          TRELLIS_REDIS_URL=QUEUE_URL)  # fmt: skip
    assert first_start.returncode == 0, first_start.stderr  # it wrote the canary under OLD

    rotated = run("secrets", "rotate", "--batch-size", "2", keys=f"{NEW},{OLD}")
    assert rotated.returncode == 0, rotated.stderr
    assert "credentials: 2 re-encrypted" in rotated.stdout and "credentials: 5 re-encrypted" in rotated.stdout
    assert "Done in" in rotated.stdout

    again = run("secrets", "rotate", keys=NEW)
    assert again.returncode == 0, again.stderr
    assert "0 value(s) re-encrypted" in again.stdout

    started = trellis("worker", "--burst", database_url=pg_url, data_dir=tmp_path, keys=NEW,
                      TRELLIS_REDIS_URL=QUEUE_URL)  # fmt: skip
    assert started.returncode == 0, started.stderr
    engine = make_engine(pg_url)
    ring = key_ring(Settings(secret_keys=NEW))
    with session_scope(engine) as session:
        for n, credential_id in enumerate(ids):
            row = session.get(Credential, credential_id)
            assert open_credential(row.plain_fields, row.ciphertext, ring)["api_key"] == f"sk-rotate-{n}-secret"
    engine.dispose()
