"""Static checks of the deployment files, no engine needed: hadolint on the Dockerfile, compose's own
validation of docker-compose.yml, every Kubernetes manifest against the API schema (strict), and
the promises between them (labels, ports, probes, security, settings the service knows)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from slotfill.service.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"  # the oldest release still widely run; the schema only grows
LABELS = {"app.kubernetes.io/name": "slotfill", "app.kubernetes.io/component": "api"}


def _tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    which = shutil.which(name)
    if which is None:
        pytest.fail(f"{name} is missing: pip install -e '.[dev]' installs it")
    return which


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _resources(folder: Path) -> dict[str, dict[str, Any]]:
    """``kind`` -> manifest, for the resources a kustomization lists."""
    kustomization = _documents(folder / "kustomization.yaml")[0]
    found = {}
    for name in kustomization["resources"]:
        for doc in _documents(folder / name):
            found[doc["kind"]] = doc
    return found


def _merge(base: Any, patch: Any) -> Any:
    """A strategic merge patch as kustomize applies these ones: maps merge, lists of named
    items (containers) merge by name, other values are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(patch, list) and all("name" in item for item in base + patch):
        by_name = {item["name"]: item for item in base}
        for item in patch:
            by_name[item["name"]] = _merge(by_name.get(item["name"], {}), item)
        return list(by_name.values())
    return copy.deepcopy(patch)


def _overlay(name: str) -> dict[str, dict[str, Any]]:
    folder = K8S / name
    kustomization = _documents(folder / "kustomization.yaml")[0]
    (base,) = kustomization["resources"]
    resources = copy.deepcopy(_resources((folder / base).resolve()))
    for patch in kustomization["patches"]:
        for doc in _documents(folder / patch["path"]):
            resources[doc["kind"]] = _merge(resources[doc["kind"]], doc)
    return resources


def _container(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (container,) = resources["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


# --- Dockerfile and compose ----------------------------------------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    done = subprocess.run(
        [_tool("hadolint"), "--failure-threshold", "warning", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dockerfile_keeps_its_promises() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim$", text, re.M)
    assert re.search(r"^ARG PIP_EXTRA_INDEX_URL=https://download\.pytorch\.org/whl/cpu$", text, re.M)
    assert re.search(r'^CMD \["slotfill", "serve"', text, re.M)  # exec form
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert "pip install -e" not in text and "--editable" not in text
    last_stage = text[text.rindex("\nFROM ") :]
    assert "pip install" not in last_stage  # the runtime stage copies a finished environment


def _compose_config(*profiles: str, **env: str) -> dict[str, Any]:
    arguments = [_tool("docker-compose"), "--file", str(ROOT / "docker-compose.yml")]
    for profile in profiles:
        arguments += ["--profile", profile]
    done = subprocess.run(
        [*arguments, "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **env},
    )
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = json.loads(done.stdout)
    return config


def test_compose_validates() -> None:
    done = subprocess.run(
        [_tool("docker-compose"), "--file", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_compose_runs_the_api_locked_down_with_a_health_check_and_limits() -> None:
    services = _compose_config()["services"]
    assert set(services) == {"api"}  # train and prometheus only under their profiles
    api = services["api"]
    assert api["read_only"] is True and api["tmpfs"] == ["/tmp"] and api["cap_drop"] == ["ALL"]
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert api["restart"] == "unless-stopped"
    limits = api["deploy"]["resources"]["limits"]
    assert float(limits["cpus"]) >= 1 and int(limits["memory"]) >= 512 * 2**20
    assert api["environment"]["SLOTFILL_MODEL_PATH"] == "/models/default"
    assert "SLOTFILL_API_KEY" not in {k for k, v in api["environment"].items() if v is not None}
    assert {(v["source"], v["target"], v.get("read_only")) for v in api["volumes"]} == {
        ("models", "/models/trained", True)
    }
    assert api["ports"][0]["host_ip"] == "127.0.0.1"


def test_compose_settings_are_ones_the_service_knows() -> None:
    known = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    services = _compose_config("train", "monitoring", SLOTFILL_API_KEY="k")["services"]
    assert services["api"]["environment"]["SLOTFILL_API_KEY"] == "k"  # passed through when set
    for service in services.values():
        assert set(service.get("environment") or {}) <= known


def test_compose_train_writes_into_the_volume_the_api_reads() -> None:
    services = _compose_config("train", "monitoring", SLOTFILL_MODEL="trained/mine")["services"]
    train = services["train"]
    assert train["entrypoint"][:2] == ["slotfill", "train"]
    out = train["entrypoint"][train["entrypoint"].index("--out") + 1]
    assert out == "/models/trained/custom"
    assert {(v["source"], v["target"]) for v in train["volumes"] if v["type"] == "volume"} == {
        ("models", "/models/trained")
    }
    assert any(v["target"] == "/data" and v.get("read_only") for v in train["volumes"])
    assert services["api"]["environment"]["SLOTFILL_MODEL_PATH"] == "/models/trained/mine"
    assert services["prometheus"]["depends_on"]["api"]["condition"] == "service_healthy"
    scrape = yaml.safe_load((ROOT / "deploy" / "compose" / "prometheus.yml").read_text())
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == ["api:8000"]


# --- Kubernetes ------------------------------------------------------------------------------------


def _base_manifests() -> list[Path]:
    """The overlays' patches are partial: they are checked merged into these."""
    return sorted(p for p in (K8S / "base").glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", _base_manifests(), ids=lambda p: p.name)
def test_every_base_manifest_is_valid_kubernetes(path: Path) -> None:
    for doc in _documents(path):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_every_kustomization_lists_existing_files() -> None:
    for kustomization in K8S.rglob("kustomization.yaml"):
        spec = _documents(kustomization)[0]
        for name in spec.get("resources", []) + [p["path"] for p in spec.get("patches", [])]:
            assert (kustomization.parent / name).exists(), f"{kustomization}: {name}"
    listed = set(_documents(K8S / "base" / "kustomization.yaml")[0]["resources"])
    assert listed == {p.name for p in (K8S / "base").glob("*.yaml")} - {"kustomization.yaml"}


def test_the_gpu_overlay_is_valid_kubernetes() -> None:
    resources = _overlay("gpu")
    for doc in resources.values():
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    container = _container(resources)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert resources["ConfigMap"]["data"]["SLOTFILL_DEVICE"] == "cuda"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True  # kept from the base


def test_the_deployment_probes_and_locks_down_the_service() -> None:
    resources = _resources(K8S / "base")
    pod = resources["Deployment"]["spec"]["template"]["spec"]
    container = _container(resources)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(container["resources"])
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["runAsNonRoot"] is True and security["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
    assert any(v["mountPath"] == "/tmp" for v in container["volumeMounts"])  # the one writable place
    (key,) = [e for e in container["env"] if e["name"] == "SLOTFILL_API_KEY"]
    assert "secretKeyRef" in key["valueFrom"]


def test_selectors_ports_and_targets_agree() -> None:
    resources = _resources(K8S / "base")
    deployment = resources["Deployment"]
    assert deployment["spec"]["selector"]["matchLabels"] == LABELS
    assert deployment["spec"]["template"]["metadata"]["labels"] == LABELS
    assert resources["Service"]["spec"]["selector"] == LABELS
    assert resources["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == LABELS
    port_names = {p["name"] for p in _container(resources)["ports"]}
    assert resources["Service"]["spec"]["ports"][0]["targetPort"] in port_names
    target = resources["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert (
        resources["HorizontalPodAutoscaler"]["spec"]["minReplicas"]
        > (resources["PodDisruptionBudget"]["spec"]["minAvailable"])
    )  # a node drain can always evict a pod
    config_map = _container(resources)["envFrom"][0]["configMapRef"]["name"]
    assert config_map == resources["ConfigMap"]["metadata"]["name"]


def test_the_config_map_holds_only_settings_the_service_knows() -> None:
    data = _resources(K8S / "base")["ConfigMap"]["data"]
    known = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    assert set(data) <= known, set(data) - known
    Settings(**{key.removeprefix(ENV_PREFIX).lower(): value for key, value in data.items()})


def test_a_drain_finishes_before_the_pod_is_killed() -> None:
    resources = _resources(K8S / "base")
    pod = resources["Deployment"]["spec"]["template"]["spec"]
    pause = int(_container(resources)["lifecycle"]["preStop"]["exec"]["command"][-1])
    drain = int(resources["ConfigMap"]["data"]["SLOTFILL_SHUTDOWN_TIMEOUT_S"])
    assert pause + drain < pod["terminationGracePeriodSeconds"]
