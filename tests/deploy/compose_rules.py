"""What `docker-compose.yml` must say, checked on `docker compose config --format json` output: each rule
returns the problems it finds (empty when the file keeps it), so a test can also show a rule failing."""

from __future__ import annotations

import re
from typing import Any

Project = dict[str, Any]

APP_SERVICES = ("web", "worker", "scheduler")
"""Long-running Trellis processes: they wait for healthy PostgreSQL and Redis and a finished migration."""
ONE_SHOT = "migrate"
WORKER_STOP_GRACE = "1m0s"
"""Compose's rendering of `stop_grace_period: 60s`: longer than TRELLIS_WORKER_GRACE_S (50 s)."""
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"://[^/@\s:]*:(?P<password>[^@]+)@")
REQUIRED_REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+:\?[^}]*\}$")
"""`${VAR:?message}`: set from the environment, never defaulted (a default would be a literal secret)."""


def healthcheck_problems(project: Project) -> list[str]:
    """Every long-running service has a healthcheck with a test; the one-shot migration disables the image's."""
    problems = []
    for name, service in project["services"].items():
        check = service.get("healthcheck") or {}
        if name == ONE_SHOT:
            if not check.get("disable"):
                problems.append(f"{name}: a one-shot job should disable the image's healthcheck")
        elif check.get("disable") or not check.get("test"):
            problems.append(f"{name}: no healthcheck")
    return problems


def dependency_problems(project: Project) -> list[str]:
    """Web, worker and scheduler start after healthy PostgreSQL and Redis and a migration that exited 0."""
    wanted = {"postgres": "service_healthy", "redis": "service_healthy", ONE_SHOT: "service_completed_successfully"}
    problems = []
    for name in APP_SERVICES:
        depends = project["services"][name].get("depends_on", {})
        for dependency, condition in wanted.items():
            found = depends.get(dependency, {}).get("condition")
            if found != condition:
                problems.append(f"{name}: depends_on {dependency} is {found!r}, not {condition!r}")
    return problems


def scaling_problems(project: Project) -> list[str]:
    """Web and worker scale (`--scale`): no fixed container name, no published host port."""
    problems = []
    for name in ("web", "worker"):
        service = project["services"][name]
        if "container_name" in service:
            problems.append(f"{name}: container_name keeps it from scaling")
        if any(port.get("published") for port in service.get("ports", [])):
            problems.append(f"{name}: a published port clashes when scaled")
    return problems


def worker_grace_problems(project: Project) -> list[str]:
    """Workers get 60 s to stop, more than the 50 s their nodes in flight are given."""
    worker = project["services"]["worker"]
    problems = []
    if worker.get("stop_grace_period") != WORKER_STOP_GRACE:
        problems.append(f"worker: stop_grace_period is {worker.get('stop_grace_period')!r}, not 60s")
    if float(worker["environment"].get("TRELLIS_WORKER_GRACE_S", 50)) >= 60:
        problems.append("worker: TRELLIS_WORKER_GRACE_S leaves no time before the stop grace period ends")
    return problems


def literal_secret_problems(raw_project: Project) -> list[str]:
    """On the project before interpolation: every password, key, secret or token, and every password inside
    a URL, is a required `${VAR:?message}` reference, never a value written in the file."""
    problems = []
    for name, service in raw_project["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            text = "" if value is None else str(value)
            if SECRET_NAME.search(variable) and not REQUIRED_REFERENCE.match(text):
                problems.append(f"{name}: {variable} is a literal")
            for match in URL_CREDENTIALS.finditer(text):
                if not REQUIRED_REFERENCE.match(match.group("password")):
                    problems.append(f"{name}: {variable} holds a literal password")
    return problems


ALL_RULES = (healthcheck_problems, dependency_problems, scaling_problems, worker_grace_problems)
