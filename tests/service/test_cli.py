"""``slotfill serve``: everything wrong is found before the port is bound, in one line."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from slotfill import cli
from tests.service.live import free_port

pytestmark = pytest.mark.usefixtures("restore_logging")


def serve(argv: list[str]) -> int:
    """``slotfill serve ARGV``, as the shell would run it."""
    return cli.main(["serve", *argv])


def test_a_missing_model_folder_fails_before_binding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], uvicorn_calls: list[Any]
) -> None:
    assert serve([str(tmp_path / "nowhere")]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert err == f"slotfill: error: {tmp_path / 'nowhere'}: no such model folder\n"
    assert uvicorn_calls == []


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_tampered_model_folder_is_named(
    tiny_model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[Any],
    workers: str,
) -> None:
    """With several workers the master checks the folder in a throwaway process: same message."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "vocab.json").write_text('["<pad>", "<unk>", "taipei"]')
    assert serve([str(folder), "--workers", workers]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith("slotfill: error: ") and "vocab.json" in err and err.count("\n") == 1
    assert uvicorn_calls == []


def test_bad_settings_fail_before_binding(
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    uvicorn_calls: list[Any],
) -> None:
    monkeypatch.setenv("SLOTFILL_MAX_BATCH_TEXTS", "lots")
    assert serve([str(tiny_model_dir)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert (
        err.startswith("slotfill: error: invalid settings: SLOTFILL_MAX_BATCH_TEXTS") and err.count("\n") == 1
    )
    assert uvicorn_calls == []


def test_bad_device_and_options(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], uvicorn_calls: list[Any]
) -> None:
    assert serve([str(tiny_model_dir), "--device", "tpu"]) == cli.EXIT_USAGE
    assert "SLOTFILL_DEVICE: device must be one of" in capsys.readouterr().err
    assert serve([str(tiny_model_dir), "--device", "cuda:7", "--workers", "2"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.startswith("slotfill: error: ")
    for bad in (["--port", "70000"], ["--workers", "0"], ["--port", "http"]):
        with pytest.raises(SystemExit) as caught:
            serve([str(tiny_model_dir), *bad])
        assert caught.value.code == 2
    assert uvicorn_calls == []


def test_one_worker_serves_the_loaded_model(tiny_model_dir: Path, uvicorn_calls: list[Any]) -> None:
    port = free_port()
    assert serve([str(tiny_model_dir), "--host", "0.0.0.0", "--port", str(port), "--device", "cpu"]) == 0
    ((app, options),) = uvicorn_calls
    assert isinstance(app, FastAPI)
    assert app.state.slotfill.settings.device == "cpu"
    assert options["host"] == "0.0.0.0" and options["port"] == port
    assert options["log_config"] is None and options["access_log"] is False
    assert options["timeout_graceful_shutdown"] == 30
    assert "workers" not in options


def test_several_workers_use_the_factory(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, uvicorn_calls: list[Any]
) -> None:
    import os

    from slotfill.service import workers

    monkeypatch.setenv("SLOTFILL_MODEL_PATH", "restored after the test")
    monkeypatch.setenv("SLOTFILL_DEVICE", "auto")
    supervised: list[tuple[list[socket.socket], dict[str, Any]]] = []
    monkeypatch.setattr(workers, "serve_workers", lambda *call: supervised.append(call) or 0)
    port = free_port()
    assert serve([str(tiny_model_dir), "--workers", "3", "--device", "cpu", "--port", str(port)]) == 0
    if workers.supported():  # one SO_REUSEPORT socket per worker (tests/service/test_workers.py)
        ((sockets, options),) = supervised
        assert [sock.getsockname() for sock in sockets] == [("127.0.0.1", port)] * 3
        assert uvicorn_calls == []
        assert options["timeout_graceful_shutdown"] == 30 and "workers" not in options
        for sock in sockets:
            sock.close()
    else:  # uvicorn's own multi-process mode
        ((app, options),) = uvicorn_calls
        assert app == workers.APP and options["factory"] is True and options["workers"] == 3
    assert os.environ["SLOTFILL_MODEL_PATH"] == str(tiny_model_dir.resolve())
    assert os.environ["SLOTFILL_DEVICE"] == "cpu"

    from slotfill.service.main import create_app

    assert create_app().state.slotfill.settings.model_path == tiny_model_dir.resolve()


def test_the_factory_refuses_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from slotfill.service.main import create_app
    from slotfill.service.settings import SettingsError

    with pytest.raises(SettingsError, match="SLOTFILL_MODEL_PATH"):
        create_app()


def test_python_m_slotfill_service_is_slotfill_serve(tiny_model_dir: Path, uvicorn_calls: list[Any]) -> None:
    import runpy
    import sys

    argv = sys.argv
    port = free_port()
    sys.argv = ["python -m slotfill.service", str(tiny_model_dir), "--port", str(port)]
    try:
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_module("slotfill.service", run_name="__main__")
    finally:
        sys.argv = argv
    assert exit_info.value.code == 0
    assert uvicorn_calls[0][1]["port"] == port


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_taken_port_is_one_line_and_no_ready_banner(
    tiny_model_dir: Path, uvicorn_calls: list[Any], capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    """Another server listens there (here a plain socket): nothing is served, nothing says ready."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = serve([str(tiny_model_dir), "--port", str(port), "--workers", workers, "--device", "cpu"])
    captured = capsys.readouterr()
    assert status == 1
    assert uvicorn_calls == []
    assert "ready" not in captured.out
    lines = [line for line in captured.err.splitlines() if line.strip() and "slotfill: error" in line]
    assert lines == [f"slotfill: error: 127.0.0.1:{port} is already in use" + lines[0].split("in use", 1)[1]]
    assert "Traceback" not in captured.err
