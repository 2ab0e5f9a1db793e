"""Settings: read from SLOTFILL_* variables, and every bad value refused in one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from slotfill.service.settings import Settings, SettingsError, load_settings


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLOTFILL_MODEL_PATH", str(tmp_path))
    monkeypatch.setenv("SLOTFILL_MAX_TEXT_CHARS", "200")
    monkeypatch.setenv("SLOTFILL_API_KEY", "s3cret-key")
    monkeypatch.setenv("SLOTFILL_LOG_TEXT", "true")
    settings = load_settings()
    assert settings.model_path == tmp_path
    assert settings.max_text_chars == 200
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "s3cret-key"
    assert "s3cret" not in repr(settings)
    assert settings.log_text
    assert settings.device == "auto" and settings.log_format == "json" and settings.batching


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLOTFILL_MODEL_PATH", "/elsewhere")
    assert load_settings(model_path=tmp_path).model_path == tmp_path


def test_batching_can_be_turned_off(tmp_path: Path) -> None:
    assert not Settings(model_path=tmp_path, batch_max_size=1).batching


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "SLOTFILL_MAX_TEXT_CHARS",
            "0",
            "SLOTFILL_MAX_TEXT_CHARS: Input should be greater than or equal to 1",
        ),
        ("SLOTFILL_MAX_BATCH_TEXTS", "many", "SLOTFILL_MAX_BATCH_TEXTS: Input should be a valid integer"),
        ("SLOTFILL_BATCH_WAIT_MS", "-1", "SLOTFILL_BATCH_WAIT_MS"),
        ("SLOTFILL_REQUEST_TIMEOUT_S", "0", "SLOTFILL_REQUEST_TIMEOUT_S"),
        ("SLOTFILL_LOG_FORMAT", "xml", "SLOTFILL_LOG_FORMAT: Input should be 'json' or 'text'"),
        ("SLOTFILL_DEVICE", "tpu", "SLOTFILL_DEVICE: device must be one of"),
        ("SLOTFILL_TORCH_THREADS", "0", "SLOTFILL_TORCH_THREADS"),
        (
            "SLOTFILL_MAX_BODY_BYTES",
            str(1 << 40),
            "SLOTFILL_MAX_BODY_BYTES: Input should be less than or equal to 67108864",
        ),
        ("SLOTFILL_BACKEND", "tensorrt", "SLOTFILL_BACKEND: Input should be 'auto', 'torch' or 'onnx'"),
        ("SLOTFILL_QUEUE_LIMIT", "8", "batch_max_size (32) cannot exceed queue_limit (8)"),
        (
            "SLOTFILL_MAX_TEXT_CHAR",
            "10",
            "SLOTFILL_MAX_TEXT_CHAR: unknown setting (did you mean SLOTFILL_MAX_TEXT_CHARS?)",
        ),
    ],
)
def test_bad_values_give_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv("SLOTFILL_MODEL_PATH", str(tmp_path))
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("invalid settings: ")
    assert expected in message
    assert "\n" not in message


def test_missing_model_path() -> None:
    with pytest.raises(SettingsError, match="SLOTFILL_MODEL_PATH: Field required"):
        load_settings()


def test_several_problems_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOTFILL_MAX_TEXT_CHARS", "-5")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "SLOTFILL_MODEL_PATH" in str(caught.value) and "SLOTFILL_MAX_TEXT_CHARS" in str(caught.value)


@pytest.mark.parametrize("key", ["", "  padded  ", "naïve-ключ"])
def test_a_bad_api_key_is_refused_without_being_echoed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str
) -> None:
    monkeypatch.setenv("SLOTFILL_API_KEY", key)
    with pytest.raises(SettingsError, match="SLOTFILL_API_KEY") as caught:
        load_settings(model_path=tmp_path)
    if key.strip():
        assert key.strip() not in str(caught.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CUDA is not available"):
        load_settings(model_path=tmp_path, device="cuda")
