"""Start the web app (Reflex, one port for pages and API) and say when it is ready."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from runtime.auth.setup import SETUP_TOKEN_ENV, new_setup_token, setup_pending
from runtime.config import Settings
from runtime.store import make_engine, session_scope

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TOOLS_BIN = PROJECT_ROOT / ".tools" / "node_modules" / ".bin"
LOG_TAIL_LINES = 40
APP_TARGET = "builder.builder:app"
"""Reflex's app object (`app_name` in rxconfig.py); called, it returns the ASGI app with the pages and API."""


class ServeError(RuntimeError):
    """The web app did not start; the message says why and where the log is."""


def reflex_environment(settings: Settings, setup_token: str | None = None, *, prebuilt: bool = False) -> dict[str, str]:
    """The environment Reflex runs in: the repo's node and bun first on PATH, telemetry off, the number of
    server processes in queue mode, and the one-time setup token while first-run setup is pending; with
    `prebuilt`, what serving the build needs."""
    env = dict(os.environ)
    # Page states and uploads of each server under its own data dir: Reflex empties its states folder at
    # start, which two servers sharing one (the checkout's `.states`, as `make cluster` would) race to do.
    reflex_dir = settings.data_dir.resolve() / "reflex"
    env["REFLEX_STATES_WORKDIR"] = str(reflex_dir / "states")
    env["REFLEX_UPLOADED_FILES_DIR"] = str(reflex_dir / "uploaded_files")
    if prebuilt:
        env.update(prebuilt_environment())
    env.pop(SETUP_TOKEN_ENV, None)
    if setup_token:
        env[SETUP_TOKEN_ENV] = setup_token
    if TOOLS_BIN.is_dir():
        env["PATH"] = f"{TOOLS_BIN}{os.pathsep}{env.get('PATH', '')}"
        env["REFLEX_USE_SYSTEM_BUN"] = "1"
    env["REFLEX_TELEMETRY_ENABLED"] = "false"
    env["TRELLIS_PORT"] = str(settings.port)
    if settings.redis_url and settings.web_workers:  # without Redis, sessions live in memory: one process only
        env["GRANIAN_WORKERS"] = str(settings.web_workers)
    return env


def prebuilt_environment() -> dict[str, str]:
    """What Reflex's production server needs to serve the frontend already built in `.web` (a container image).

    `reflex run --env prod` compiles the pages and rebuilds the frontend (`bun run export`) on every start,
    and its `--backend-only` mode never mounts the built pages. So, as `reflex run` does once its build is
    done, the server gets Reflex's (internal, reflex 0.10.1) switches to skip the compile and mount
    `.web/build/client`; `REFLEX_BACKEND_ONLY` keeps it from re-linking shared assets. (Its state and upload
    folders are under the data dir, the one place an image keeps writable, as for every server.)
    """
    return {
        "REFLEX_ENV_MODE": "prod", "__REFLEX_SKIP_COMPILE": "true", "__REFLEX_MOUNT_FRONTEND_COMPILED_APP": "true",
        "REFLEX_BACKEND_ONLY": "true",
    }  # fmt: skip


def reflex_command(port: int, *, prebuilt: bool = False) -> list[str]:
    """The production-mode command serving pages and API on one port: `reflex run` (compile, build the
    frontend, serve), or with `prebuilt` Reflex's app under granian, as `reflex run` serves it after its build
    (one worker unless GRANIAN_WORKERS says otherwise)."""
    if prebuilt:
        return [
            sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
            "--host", "0.0.0.0", "--port", str(port), APP_TARGET,
        ]  # fmt: skip
    return [
        sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port",
        "--frontend-port", str(port), "--backend-port", str(port),
    ]  # fmt: skip


def port_in_use(port: int) -> bool:
    """Whether something already listens on `port` on this machine."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def answers(url: str) -> bool:
    """Whether our own server at `url` (on this machine) answers 200 now."""
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Return once `url` answers 200; raise ServeError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeError(f"the web server exited with code {process.returncode} before it was ready")
        if answers(url):
            return
        time.sleep(0.5)
    raise ServeError(f"the web server was not ready at {url} after {timeout_s:.0f} s")


def log_tail(log_path: Path) -> str:
    """The last lines of the server log, to show next to an error."""
    if not log_path.exists():
        return ""
    lines = log_path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])


def first_run_setup_token(settings: Settings) -> str | None:
    """A fresh one-time setup token when no one can sign in yet, else None."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            return new_setup_token() if setup_pending(session) else None
    finally:
        engine.dispose()


def serve(
    settings: Settings, say: Callable[[str], None], ready_timeout_s: float = 600.0, *, prebuilt: bool = False
) -> int:
    """Run the web app until interrupted; returns the process exit code.

    With `prebuilt` (a container image) the frontend already in `.web` is served as it is, and the server's
    output goes to this process's output (the container log) instead of `<data_dir>/serve.log`.
    """
    if port_in_use(settings.port):
        say(
            f"Port {settings.port} is already in use (another Trellis?). Stop it, or pick another port: "
            f"TRELLIS_PORT=8080 make run"
        )
        return 1
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / "serve.log"
    local_url = f"http://localhost:{settings.port}"
    # A supervisor stops us with SIGTERM: treat it like Ctrl+C so the server's process group goes too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    setup_token = first_run_setup_token(settings)
    if prebuilt:
        say(f"Starting Trellis on port {settings.port} with the frontend built in the image")
    else:
        say(f"Starting Trellis on port {settings.port} (the first start builds the frontend; log: {log_path})")
    with contextlib.nullcontext(None) if prebuilt else log_path.open("wb") as log:
        process = subprocess.Popen(
            reflex_command(settings.port, prebuilt=prebuilt),
            cwd=PROJECT_ROOT,
            env=reflex_environment(settings, setup_token, prebuilt=prebuilt),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_ready(f"{local_url}/", process, ready_timeout_s)
            if setup_token:
                say(f"Create the owner account: {local_url}/setup on this machine, or from anywhere (once): "
                    f"{settings.resolved_public_url}/setup?token={setup_token}")  # fmt: skip
            say(f"Trellis is ready at {settings.resolved_public_url}  (Ctrl+C stops it)")
            return process.wait()
        except ServeError as error:
            where = "The server's output is above." if prebuilt else f"Last lines of {log_path}:\n{log_tail(log_path)}"
            say(f"Trellis did not start: {error}.\n{where}")
            return 1
        except KeyboardInterrupt:
            say("Stopping Trellis…")
            return 0
        finally:
            stop_process_group(process)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and every child it started (bun, granian workers)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
