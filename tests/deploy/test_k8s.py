"""The Kubernetes manifests: every document strictly valid against the schemas of two Kubernetes versions
(`kubernetes-validate`'s Python API: its command line lets unknown kinds pass), and the rules the
Deployments, the Job, the NetworkPolicy, the HPAs and the PDBs must keep."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((REPO / "k8s").glob("*.yaml"))
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
WORKER_EGRESS_EXCEPT = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"}
Manifest = dict[str, Any]


def documents(path: Path) -> list[Manifest]:
    """The objects in one manifest file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


ALL = [doc for path in MANIFESTS for doc in documents(path)]


def of_kind(kind: str) -> dict[str, Manifest]:
    """Every object of `kind`, by name."""
    return {doc["metadata"]["name"]: doc for doc in ALL if doc["kind"] == kind}


def image_uid() -> int:
    """The UID the Dockerfile's final stage runs as."""
    return int(re.findall(r"^USER (\d+)", (REPO / "Dockerfile").read_text(), re.MULTILINE)[-1])


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_every_document_is_valid_strictly(path: Path, version: str) -> None:
    for doc in documents(path):
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_strict_validation_refuses_a_misspelt_field(version: str) -> None:
    deployment = copy.deepcopy(of_kind("Deployment")["trellis-web"])
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesytem"] = True
    with pytest.raises(kubernetes_validate.ValidationError, match="readOnlyRootFilesytem"):
        kubernetes_validate.validate(deployment, version, strict=True)


def pod_problems(pod: Manifest, uid: int) -> list[str]:
    """What a Pod spec breaks of the securityContext rules, for it and each of its containers."""
    problems = []
    security = pod.get("securityContext", {})
    if not (security.get("runAsNonRoot") and security.get("runAsUser") == uid):
        problems.append(f"pod does not run as non-root UID {uid}")
    if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append("pod seccompProfile is not RuntimeDefault")
    for container in pod.get("initContainers", []) + pod["containers"]:
        context = container.get("securityContext", {})
        wanted = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}
        problems += [
            f"{container['name']}: {key} is not {value}"
            for key, value in wanted.items()
            if context.get(key) is not value
        ]
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{container['name']}: capabilities are not all dropped")
        limits, requests = (
            container.get("resources", {}).get("limits", {}),
            container.get("resources", {}).get("requests", {}),
        )
        if not ({"cpu", "memory"} <= limits.keys() and {"cpu", "memory"} <= requests.keys()):
            problems.append(f"{container['name']}: no cpu and memory requests and limits")
    return problems


def probe_problems(pod: Manifest) -> list[str]:
    """Each long-running container has a startup and a liveness probe on /healthz, readiness on /readyz."""
    problems = []
    for container in pod["containers"]:
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            if container.get(probe, {}).get("httpGet", {}).get("path") != path:
                problems.append(f"{container['name']}: {probe} does not ask {path}")
    return problems


def config_problems(pod: Manifest) -> list[str]:
    """Each container reads the ConfigMap and the Secret, and writes only to emptyDirs (the root is read-only)."""
    empty_dirs = {volume["name"] for volume in pod.get("volumes", []) if "emptyDir" in volume}
    problems = []
    for container in pod["containers"]:
        sources = {(next(iter(ref)), ref[next(iter(ref))]["name"]) for ref in container.get("envFrom", [])}
        if sources != {("configMapRef", "trellis"), ("secretRef", "trellis")}:
            problems.append(f"{container['name']}: env is not from the ConfigMap and Secret `trellis`")
        mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
        if not all(mounts.get(path) in empty_dirs for path in ("/tmp", "/var/lib/trellis")):
            problems.append(f"{container['name']}: /tmp and the data dir are not writable emptyDirs")
    return problems


@pytest.mark.parametrize("name", sorted(of_kind("Deployment")))
def test_deployments_are_locked_down_probed_and_configured(name: str) -> None:
    pod = of_kind("Deployment")[name]["spec"]["template"]["spec"]
    assert pod_problems(pod, image_uid()) + probe_problems(pod) + config_problems(pod) == []


def test_the_migration_job_runs_locked_down_with_the_same_settings() -> None:
    pod = of_kind("Job")["trellis-migrate"]["spec"]["template"]["spec"]
    assert pod_problems(pod, image_uid()) + config_problems(pod) == []
    assert pod["containers"][0]["args"] == ["trellis", "migrate"]


def test_each_rule_finds_a_break() -> None:
    """The rules can fail: one broken copy of the web Pod per rule."""
    pod = of_kind("Deployment")["trellis-web"]["spec"]["template"]["spec"]
    escalating, unprobed, unconfigured = (copy.deepcopy(pod) for _ in range(3))
    escalating["initContainers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    del unprobed["containers"][0]["startupProbe"]
    unconfigured["containers"][0]["envFrom"].pop()
    assert pod_problems(escalating, image_uid()) == ["seed-reflex-backend: allowPrivilegeEscalation is not False"]
    assert probe_problems(unprobed) == ["web: startupProbe does not ask /healthz"]
    assert len(config_problems(unconfigured)) == 1
    assert pod_problems(pod, image_uid() + 1) == [f"pod does not run as non-root UID {image_uid() + 1}"]


def test_workers_get_a_minute_to_hand_their_runs_back() -> None:
    worker = of_kind("Deployment")["trellis-worker"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] == 60
    assert int(of_kind("ConfigMap")["trellis"]["data"]["TRELLIS_WORKER_GRACE_S"]) < 60


def test_the_ingress_routes_every_path_to_the_web_service_without_stickiness() -> None:
    ingress = of_kind("Ingress")["trellis"]
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert (path["path"], path["pathType"], path["backend"]["service"]["name"]) == ("/", "Prefix", "trellis-web")
    assert not any("affinity" in key or "sticky" in key for key in ingress["metadata"].get("annotations", {}))
    assert "trellis-web" in of_kind("Service")


def test_web_and_workers_scale_on_cpu_and_keep_capacity_during_disruptions() -> None:
    for name in ("trellis-web", "trellis-worker"):
        hpa = of_kind("HorizontalPodAutoscaler")[name]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert (hpa["spec"]["scaleTargetRef"]["kind"], hpa["spec"]["scaleTargetRef"]["name"]) == ("Deployment", name)
        assert [metric["resource"]["name"] for metric in hpa["spec"]["metrics"]] == ["cpu"]
        selector = of_kind("PodDisruptionBudget")[name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= of_kind("Deployment")[name]["spec"]["template"]["metadata"]["labels"].items()


def test_workers_reach_only_dns_the_stores_and_public_addresses() -> None:
    policy = of_kind("NetworkPolicy")["trellis-worker"]["spec"]
    targets = [peer for rule in policy["egress"] for peer in rule["to"]]
    blocks = [peer["ipBlock"] for peer in targets if "ipBlock" in peer]
    assert blocks == [{"cidr": "0.0.0.0/0", "except": sorted(WORKER_EGRESS_EXCEPT, key=blocks[0]["except"].index)}]
    assert set(blocks[0]["except"]) == WORKER_EGRESS_EXCEPT
    named = {
        peer["podSelector"]["matchLabels"].get("app.kubernetes.io/name") for peer in targets if "podSelector" in peer
    }
    assert named >= {"postgresql", "redis"}
    assert any(port["port"] == 53 for rule in policy["egress"] for port in rule.get("ports", []))
    for store in ("postgresql", "redis"):
        (rule,) = of_kind("NetworkPolicy")[store]["spec"]["ingress"]
        assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "trellis"}}}]


def test_the_secret_example_holds_no_values() -> None:
    secret = of_kind("Secret")["trellis"]
    assert set(secret["stringData"]) == {"TRELLIS_DATABASE_URL", "TRELLIS_REDIS_URL", "TRELLIS_SECRET_KEYS"}
    assert set(secret["stringData"].values()) == {""} and "data" not in secret
