"""Write `runtime/graph/workflow.schema.json` from the pydantic models.

Run `python -m runtime.graph.generate` after changing `runtime/graph/schema.py`;
`python -m runtime.graph.generate --check` exits 1 when the committed file is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runtime.graph.schema import document_json_schema

SCHEMA_PATH = Path(__file__).with_name("workflow.schema.json")
REGENERATE_COMMAND = "python -m runtime.graph.generate"


def render_schema() -> str:
    """The exact text the committed schema file must hold (sorted keys, indent 2, final newline)."""
    return json.dumps(document_json_schema(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schema file (or with `--check`, compare it); returns the process exit code."""
    args = sys.argv[1:] if argv is None else argv
    text = render_schema()
    if "--check" in args:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            sys.stderr.write(f"{SCHEMA_PATH} is out of date; run `{REGENERATE_COMMAND}`.\n")
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA_PATH}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
