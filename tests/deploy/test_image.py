"""The image's web start, proven without a Docker daemon: a folder laid out as the Dockerfile lays out /app
(the build stage's COPYs, its `reflex export`, node_modules dropped) is started with the final stage's CMD
on a PATH holding no node or bun. It must serve the pages built by the export as they are (no rebuild),
on PostgreSQL in production mode, and a browser's websocket must connect."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from runtime.cluster import REPO_WEB, frontend_copy
from tests.e2e.conftest import browser, new_tab
from tests.processes import free_port, stop_group, trellis_env

__all__ = ["browser"]  # the e2e tests' Chromium, a fixture here too

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
VENV_BIN = Path(sys.executable).parent
TOOLS_BIN = REPO / ".tools" / "node_modules" / ".bin"
EXPORT = ["reflex", "export", "--frontend-only", "--no-zip"]
READY_TIMEOUT_S = 300


def stages() -> list[str]:
    """The Dockerfile's stages, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return re.split(r"^FROM ", joined, flags=re.MULTILINE)[1:]


def build_copies() -> list[str]:
    """What the build stage copies from the build context into /app."""
    lines = [line.split()[1:-1] for line in stages()[0].splitlines() if line.startswith("COPY ")]
    return [source for sources in lines for source in sources]


def final_command() -> list[str]:
    """The final stage's CMD."""
    (command,) = re.findall(r"^CMD (\[.*\])$", stages()[-1], re.MULTILINE)
    return json.loads(command)  # type: ignore[no-any-return]


def snapshot(folder: Path) -> dict[str, int]:
    """Every file under `folder` with its modification time."""
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns for path in folder.rglob("*") if path.is_file()}


@dataclass(frozen=True)
class ImageApp:
    """The folder laid out like the image's /app, the port its pages were built for, and its build."""

    root: Path
    port: int
    build: dict[str, int]


@pytest.fixture(scope="module")
def image_app(tmp_path_factory: pytest.TempPathFactory) -> ImageApp:
    """The Dockerfile's build stage, replayed: its COPYs, then its frontend export, then node_modules dropped."""
    assert " ".join(EXPORT) in DOCKERFILE and "rm -rf .web/node_modules" in DOCKERFILE
    root, port = tmp_path_factory.mktemp("image") / "app", free_port()
    root.mkdir()
    for source in build_copies():
        copy = shutil.copytree if (REPO / source).is_dir() else shutil.copy2
        copy(REPO / source, root / source)
    if (REPO_WEB / "node_modules").is_dir():
        frontend_copy(root / ".web")  # reuse the checkout's installed packages instead of installing them
    env = trellis_env(PYTHONPATH=str(root), TRELLIS_PORT=str(port), TRELLIS_DATA_DIR=str(root.parent / "build-data"))
    env.update(PATH=f"{TOOLS_BIN}:{VENV_BIN}:{env['PATH']}", REFLEX_USE_SYSTEM_BUN="1")
    export = subprocess.run(
        [sys.executable, "-m", *EXPORT], cwd=root, env=env, capture_output=True, text=True, timeout=900
    )
    assert export.returncode == 0, export.stdout[-3000:] + export.stderr[-3000:]
    modules = root / ".web" / "node_modules"
    modules.unlink() if modules.is_symlink() else shutil.rmtree(modules)
    return ImageApp(root, port, snapshot(root / ".web" / "build"))


@pytest.fixture(scope="module")
def image_server(image_app: ImageApp, make_pg_database, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The final stage's CMD from the image-like folder, in production mode on a fresh PostgreSQL database,
    with nothing but the virtualenv on PATH; its URL."""
    data_dir = tmp_path_factory.mktemp("image-data")
    env = trellis_env(
        PYTHONPATH=str(image_app.root), PATH=str(VENV_BIN), TRELLIS_PORT=str(image_app.port), TRELLIS_ENV="production",
        TRELLIS_DATABASE_URL=make_pg_database(), TRELLIS_DATA_DIR=str(data_dir),
    )  # fmt: skip
    assert shutil.which("node", path=env["PATH"]) is None and shutil.which("bun", path=env["PATH"]) is None
    command = [str(VENV_BIN / final_command()[0]), *final_command()[1:]]
    log = data_dir.parent / "image-serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=image_app.root, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_ready(process, log)
        yield f"http://localhost:{image_app.port}"
    finally:
        stop_group(process)


def wait_for_ready(process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once the server says it is ready; fail with its output if it exits or stalls."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while "is ready at" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the image's command did not become ready:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.5)


def test_the_image_command_serves_the_exported_pages_without_node_or_a_rebuild(
    image_app: ImageApp, image_server: str
) -> None:
    page = httpx.get(f"{image_server}/login/", timeout=10, follow_redirects=True)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    scripts = re.findall(r'(?:src|href)="/(assets/[^"]+\.js)"', page.text)
    assert scripts and all(str(Path("client") / script) in image_app.build for script in scripts)
    assert httpx.get(f"{image_server}/healthz", timeout=10).json() == {"status": "ok"}
    assert httpx.get(f"{image_server}/readyz", timeout=10).json() == {"status": "ready"}
    assert httpx.get(f"{image_server}/api/openapi.json", timeout=10).status_code == 200
    # And nothing was built again: the export's files are all there, untouched, and nothing was added
    assert snapshot(image_app.root / ".web" / "build") == image_app.build
    assert not (image_app.root / ".web" / "node_modules").exists()


def test_a_browser_on_the_image_connects_its_websocket(
    image_app: ImageApp, image_server: str, browser: Browser
) -> None:
    with new_tab(browser) as tab:
        sockets: list[str] = []
        tab.on("websocket", lambda socket: sockets.append(socket.url))
        tab.goto(f"{image_server}/setup/")
        tab.get_by_role("button", name="Create the owner account").wait_for()
        tab.wait_for_timeout(1000)  # a failed connection shows its banner and retries within this time
        body = tab.inner_text("body")
    assert "Cannot connect to server" not in body
    assert len(sockets) == 1 and sockets[0].startswith(f"ws://localhost:{image_app.port}/_event")
