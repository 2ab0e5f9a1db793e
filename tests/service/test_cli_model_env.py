"""``slotfill serve`` without a model argument takes ``SLOTFILL_MODEL_PATH`` (what the container runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slotfill import cli
from tests.service.live import free_port

pytestmark = pytest.mark.usefixtures("restore_logging")


def test_the_model_comes_from_the_environment(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, uvicorn_calls: list[Any]
) -> None:
    monkeypatch.setenv("SLOTFILL_MODEL_PATH", str(tiny_model_dir))
    assert cli.main(["serve", "--device", "cpu", "--port", str(free_port())]) == 0
    ((app, _),) = uvicorn_calls
    assert app.state.slotfill.settings.model_path == tiny_model_dir


def test_the_argument_wins_over_the_environment(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uvicorn_calls: list[Any]
) -> None:
    monkeypatch.setenv("SLOTFILL_MODEL_PATH", str(tmp_path / "elsewhere"))
    assert cli.main(["serve", str(tiny_model_dir), "--device", "cpu", "--port", str(free_port())]) == 0
    ((app, _),) = uvicorn_calls
    assert app.state.slotfill.settings.model_path == tiny_model_dir


def test_no_model_at_all_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], uvicorn_calls: list[Any]
) -> None:
    monkeypatch.delenv("SLOTFILL_MODEL_PATH", raising=False)
    assert cli.main(["serve"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("slotfill: error: ") and "SLOTFILL_MODEL_PATH" in err
    assert len(err.splitlines()) == 1 and uvicorn_calls == []
