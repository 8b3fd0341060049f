"""T3.6: outbound HTTP leaves only through the egress guard. Any HTTP client built outside
`runtime/egress/` (httpx, requests, urllib, aiohttp, urllib3, http.client) fails this check."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED_PACKAGES = ("runtime", "builder", "components")
GUARD = ROOT / "runtime" / "egress"
FORBIDDEN_MODULES = ("requests", "aiohttp", "urllib3", "urllib.request", "http.client")
HTTPX_BUILDERS = {"Client", "AsyncClient", "request", "get", "post", "put", "patch", "delete", "head", "stream"}
OPENAI_CLIENTS = {"OpenAI", "AsyncOpenAI"}
# Not egress: requests to Trellis itself on loopback, which the guard rightly refuses.
SELF_CHECKS = {"runtime/serve.py": "polls its own server on localhost until it answers"}


def outbound_http_sites(source: str) -> list[tuple[int, str]]:
    """(line, what) for every import of a raw HTTP library and every httpx/openai client built in `source`."""
    sites: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            sites += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith(FORBIDDEN_MODULES)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(FORBIDDEN_MODULES):
            sites.append((node.lineno, node.module or ""))
        elif isinstance(node, ast.ImportFrom) and node.module == "httpx":
            sites += [(node.lineno, f"httpx.{a.name}") for a in node.names if a.name in HTTPX_BUILDERS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "httpx" and node.func.attr in HTTPX_BUILDERS:
                sites.append((node.lineno, f"httpx.{node.func.attr}()"))
            if node.func.attr in OPENAI_CLIENTS and not any(k.arg == "http_client" for k in node.keywords):
                sites.append((node.lineno, f"{node.func.attr}() without the guarded http_client"))
    return sites


def test_the_check_catches_each_kind_of_client() -> None:
    source = (
        "import requests\nfrom urllib.request import urlopen\nimport httpx\nc = httpx.AsyncClient()\n"
        "from httpx import Client\nimport openai\no = openai.AsyncOpenAI(api_key='k')\n"
        "fine = httpx.AsyncClient | None\n"
    )
    assert sorted(line for line, _ in outbound_http_sites(source)) == [1, 2, 4, 5, 7]


def python_files() -> list[Path]:
    files = [path for package in CHECKED_PACKAGES for path in (ROOT / package).rglob("*.py")]
    return [path for path in files if GUARD not in path.parents and str(path.relative_to(ROOT)) not in SELF_CHECKS]


@pytest.mark.parametrize("path", python_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_http_client_outside_the_egress_guard(path: Path) -> None:
    sites = outbound_http_sites(path.read_text())
    assert not sites, f"{path.relative_to(ROOT)} makes HTTP outside runtime/egress: {sites}"
