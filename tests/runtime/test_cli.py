"""The `trellis` command line, run as a user runs it (the installed console script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRELLIS = str(Path(sys.executable).with_name("trellis"))


def trellis(*args: str, database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run `trellis ARGS` against a database; returns its exit code and output."""
    env = {**os.environ, "TRELLIS_DATABASE_URL": database_url, "TRELLIS_DATA_DIR": str(data_dir)}
    return subprocess.run([TRELLIS, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return trellis(*args, database_url=db_url, data_dir=tmp_path / "data")

    return _run


def broken_document(tmp_path: Path) -> Path:
    """An example with three different problems."""
    document = json.loads((EXAMPLES / "branch_if.json").read_text())
    document["nodes"].append(dict(document["nodes"][0]))
    document["nodes"][1]["type"] = "no_such_node"
    document["edges"].append({"id": "dangling", "source": "ghost", "target": document["nodes"][0]["id"]})
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    return path


def test_validate_accepts_every_example(tmp_path: Path) -> None:
    for example in sorted(EXAMPLES.glob("*.json")):
        result = trellis("validate", str(example), database_url="sqlite://", data_dir=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "valid" in result.stdout


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    result = trellis("validate", str(broken_document(tmp_path)), database_url="sqlite://", data_dir=tmp_path)
    assert result.returncode == 2
    assert "no_such_node" in result.stderr
    assert "ghost" in result.stderr
    assert "duplicate" in result.stderr.lower()


def test_validate_reports_bad_json_with_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"format": "trellis.workflow",')
    result = trellis("validate", str(path), database_url="sqlite://", data_dir=tmp_path)
    assert result.returncode == 2
    assert "line 1" in result.stderr


def test_import_then_export_then_import_gives_the_same_document(run, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    assert run("migrate").returncode == 0
    examples = sorted(EXAMPLES.glob("*.json"))
    # Every example on SQLite; PostgreSQL's part is the storing, the same for each (a CLI call takes seconds).
    for example in examples[:1] if db_url.startswith("postgresql") else examples:
        imported = run("import", str(example))
        assert imported.returncode == 0, imported.stderr
        first_id = imported.stdout.strip()
        first = run("export", first_id)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["name"] == json.loads(example.read_text())["name"]

        again = tmp_path / "again.json"
        again.write_text(first.stdout)
        second_id = run("import", str(again)).stdout.strip()
        assert second_id != first_id
        assert json.loads(run("export", second_id).stdout) == json.loads(first.stdout)


def test_broken_import_changes_nothing(run, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from runtime.store import ensure_local_workspace, list_workflows, make_engine, session_scope

    result = run("import", str(broken_document(tmp_path)))
    assert result.returncode == 2
    assert "ghost" in result.stderr
    assert result.stdout == ""
    with session_scope(make_engine(db_url)) as session:
        assert list_workflows(session, ensure_local_workspace(session).id) == []


def test_export_of_unknown_id_is_a_clear_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("export", "wf_missing")
    assert result.returncode == 1
    assert "wf_missing" in result.stderr
