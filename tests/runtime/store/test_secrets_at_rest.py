"""The key ring: where keys come from, production's refusal without them, the canary that names a wrong
key, and rotation to a new key after which the old one can be dropped."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from runtime.config import Settings, get_settings
from runtime.credentials import add_credential, open_credential
from runtime.secret_canary import check_secret_keys
from runtime.secret_rotation import rotate_secrets
from runtime.secrets import SecretsError, _default_ring, decrypt_fields, key_ring, primary_key
from runtime.store import AuditEvent, Credential, Webhook, Workspace, create_workflow, make_engine
from tests.runtime.store.conftest import make_document

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
HOOK_NODE = {"id": "hook", "type": "webhook_trigger", "type_version": 1, "params": {}}


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lets a test change TRELLIS_SECRET_KEYS for this process; the suite's key comes back after it."""
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    _default_ring.cache_clear()


def use_keys(monkeypatch: pytest.MonkeyPatch, *keys: str) -> Settings:
    monkeypatch.setenv("TRELLIS_SECRET_KEYS", ",".join(keys))
    get_settings.cache_clear()
    _default_ring.cache_clear()
    return get_settings()


def test_production_refuses_to_run_without_keys(tmp_path: Path) -> None:
    for settings in (
        Settings(secret_keys=None, database_url="postgresql+psycopg://db/trellis", data_dir=tmp_path),
        Settings(secret_keys=None, env="production", data_dir=tmp_path),
    ):
        with pytest.raises(SecretsError, match="TRELLIS_SECRET_KEYS .* must be set in production"):
            key_ring(settings)
    assert not (tmp_path / "secret.key").exists()


def test_zero_setup_generates_a_private_key_file_once_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(secret_keys=None, data_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="runtime.secrets"):
        token = key_ring(settings).encrypt(b"hello")
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "Generated the secret key file" in caplog.text and "TRELLIS_SECRET_KEYS" in caplog.text

    caplog.clear()
    assert key_ring(settings).decrypt(token) == b"hello"
    assert caplog.text == ""


def test_keys_file_and_bad_keys(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{NEW},\n{OLD}\n")
    settings = Settings(secret_keys=None, secret_keys_file=keys_file, data_dir=tmp_path)
    old_token = Fernet(OLD).encrypt(b"x")
    assert key_ring(settings).decrypt(old_token) == b"x"
    assert primary_key(settings).decrypt(key_ring(settings).encrypt(b"y")) == b"y"

    with pytest.raises(SecretsError, match="TRELLIS_SECRET_KEYS holds a value that is not a Fernet key"):
        key_ring(Settings(secret_keys="not-a-key", data_dir=tmp_path))
    with pytest.raises(SecretsError, match="TRELLIS_SECRET_KEYS_FILE cannot be read"):
        key_ring(Settings(secret_keys=None, secret_keys_file=tmp_path / "missing", data_dir=tmp_path))


def test_canary_turns_a_wrong_key_into_one_clear_error(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    check_secret_keys(Settings(secret_keys=OLD, data_dir=tmp_path), engine)  # first start writes it
    check_secret_keys(Settings(secret_keys=OLD, data_dir=tmp_path), engine)

    with pytest.raises(SecretsError) as wrong:
        check_secret_keys(Settings(secret_keys=NEW, data_dir=tmp_path), engine)
    assert "TRELLIS_SECRET_KEYS" in str(wrong.value) and "encrypted with another key" in str(wrong.value)
    assert OLD not in str(wrong.value) and NEW not in str(wrong.value)

    check_secret_keys(Settings(secret_keys=f"{NEW},{OLD}", data_dir=tmp_path), engine)  # a new key goes first
    engine.dispose()


def stored_secrets(session: Session, workspace_id: str, count: int) -> list[str]:
    """`count` credentials and one workflow with a webhook, all under the current key; their ids."""
    ids = [add_credential(session, workspace_id, None, f"key {n}", "openai", {"api_key": f"sk-{n:04d}-secret"}).id
           for n in range(count)]  # fmt: skip
    create_workflow(session, workspace_id, make_document("hooked", nodes=[HOOK_NODE]))
    session.commit()
    return ids


def test_rotation_reencrypts_everything_so_the_old_key_can_go(
    db_url: str, session: Session, workspace: Workspace, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    old = use_keys(monkeypatch, OLD)
    check_secret_keys(old, engine)
    ids = stored_secrets(session, workspace.id, 7)
    token = decrypt_fields(session.exec(select(Webhook)).one().token_ciphertext)["token"]

    both = use_keys(monkeypatch, NEW, OLD)
    lines: list[str] = []
    report = rotate_secrets(engine, both, batch_size=3, progress=lines.append)
    assert report.rotated == {"credentials": 7, "webhook tokens": 1, "secret canary": 1, "approval links": 0}
    assert any(line.startswith("credentials: 3 re-encrypted") for line in lines)

    only_new = use_keys(monkeypatch, NEW)
    check_secret_keys(only_new, engine)
    ring = key_ring(only_new)
    session.expire_all()
    for n, credential_id in enumerate(ids):
        row = session.get(Credential, credential_id)
        assert open_credential(row.plain_fields, row.ciphertext, ring)["api_key"] == f"sk-{n:04d}-secret"
    assert decrypt_fields(session.exec(select(Webhook)).one().token_ciphertext, ring)["token"] == token

    again = rotate_secrets(engine, only_new)
    assert sum(again.rotated.values()) == 0 and sum(again.skipped.values()) == 9
    audits = session.exec(select(AuditEvent).where(AuditEvent.action == "secrets.rotated")).all()
    assert len(audits) == 2 and audits[0].details["rotated"]["credentials"] == 7
    engine.dispose()


def test_rotation_resumes_where_it_stopped(
    db_url: str, session: Session, workspace: Workspace, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    use_keys(monkeypatch, OLD)
    ids = stored_secrets(session, workspace.id, 4)
    both = use_keys(monkeypatch, NEW, OLD)
    ring = key_ring(both)
    for credential_id in ids[:2]:  # as if an earlier run stopped after its first batch
        row = session.get(Credential, credential_id)
        row.ciphertext = ring.rotate(row.ciphertext.encode()).decode()
        session.add(row)
    session.commit()

    report = rotate_secrets(engine, both, batch_size=2)
    assert (report.rotated["credentials"], report.skipped["credentials"]) == (2, 2)
    engine.dispose()


def test_a_value_no_key_opens_stops_rotation_with_a_clear_error(
    db_url: str, session: Session, workspace: Workspace, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    use_keys(monkeypatch, OLD)
    stored_secrets(session, workspace.id, 1)
    with pytest.raises(SecretsError, match="cannot be decrypted with any key in TRELLIS_SECRET_KEYS"):
        rotate_secrets(engine, use_keys(monkeypatch, NEW))
    engine.dispose()
