"""The wheel installs one name, ``slotfill``, with the demo page's files inside it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB_FILES = {"index.html", "demo.js", "demo.css"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the checkout's files (links kept as links), so the build writes nothing
    into the working tree."""
    source = tmp_path_factory.mktemp("source") / "slotfill"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        origin, copy = ROOT / name, source / name
        if not origin.is_symlink() and not origin.is_file():
            continue  # deleted in the working tree, not yet in git
        copy.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            copy.symlink_to(origin.readlink())
        else:
            shutil.copy2(origin, copy)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out, source],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("slotfill-*.whl")
    return built


def test_slotfill_is_the_only_top_level_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"slotfill"}
    for module in ("model/tagger.py", "training/trainer.py", "service/main.py", "cli.py"):
        assert f"slotfill/{module}" in names
    (top_level,) = [name for name in names if name.endswith(".dist-info/top_level.txt")]
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["slotfill"]


def test_the_demo_page_ships_inside_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"slotfill/service/web/{name}" for name in WEB_FILES} <= names


def test_the_installed_wheel_runs_from_its_own_folder(wheel: Path, tmp_path: Path) -> None:
    """Installed apart from the checkout, it imports, answers ``--help`` and finds its web files."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel],
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in target.iterdir() if p.name != "bin") == [
        "slotfill",
        "slotfill-0.1.0.dist-info",
    ]
    probe = (
        "import json, slotfill, importlib.resources as r;"
        "print(slotfill.__file__);"
        "print(json.dumps([p.name for p in r.files('slotfill.service').joinpath('web').iterdir()]))"
    )
    env = {"PYTHONPATH": str(target), "PATH": ""}
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert shown[0].startswith(str(target))
    assert set(json.loads(shown[1])) == WEB_FILES
    usage = subprocess.run(
        [sys.executable, "-m", "slotfill", "--help"], check=True, cwd=tmp_path, env=env, capture_output=True
    ).stdout.decode()
    assert "serve" in usage and "train" in usage
