"""The service's one configuration: environment variables ``SLOTFILL_*``, validated at start-up.

Bad values stop the process before it binds a port, with one line naming every bad variable
(:func:`load_settings`), so a typo in a deployment never turns into a half-working service.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SLOTFILL_"


class SettingsError(ValueError):
    """Settings that cannot run a service; the message is one line naming the variables at fault."""


class Settings(BaseSettings):
    """Every knob of the service; each field is the variable ``SLOTFILL_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", protected_namespaces=())

    model_path: Path = Field(description="model folder written by `slotfill train`")
    device: str = Field(default="auto", description="auto, cpu, cuda or cuda:N")
    backend: Literal["auto", "torch", "onnx"] = Field(
        default="auto",
        description="what computes the network's scores: onnx (ONNX Runtime, CPU, needs `slotfill export "
        "--onnx`), torch, or auto: onnx when the model folder has a current export and the device is the CPU",
    )
    max_text_chars: int = Field(default=1000, ge=1, le=100_000, description="longest text, in code points")
    max_batch_texts: int = Field(
        default=64, ge=1, le=4096, description="most texts in one /v1/parse/batch call"
    )
    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, le=1 << 26, description="largest request body accepted (64 MiB at most)"
    )
    batch_max_size: int = Field(default=32, ge=1, le=4096, description="most texts per model call (1: off)")
    batch_max_tokens: int = Field(
        default=1024,
        ge=1,
        description="token budget of one model call, which no request can interrupt (so: a bound on the "
        "wait of a short request behind long ones)",
    )
    batch_wait_ms: float = Field(
        default=2.0, ge=0.0, le=1000.0, description="longest wait for a batch to fill"
    )
    queue_limit: int = Field(default=512, ge=1, description="texts waiting for the model before 503 answers")
    request_timeout_s: float = Field(
        default=5.0, gt=0.0, le=600.0, description="queue + inference time before 504"
    )
    torch_threads: int = Field(
        default=1, ge=1, le=256, description="intra-op threads of the model (torch or ONNX Runtime)"
    )
    api_key: SecretStr | None = Field(
        default=None, description="when set, every route but the probes needs it"
    )
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_text: bool = Field(default=False, description="log user text (personal data): off unless asked for")
    shutdown_timeout_s: int = Field(
        default=30, ge=1, le=3600, description="grace period for in-flight requests"
    )
    max_header_bytes: int = Field(
        default=16_384, ge=1024, le=1 << 20, description="largest request head (request line and headers)"
    )
    max_headers: int = Field(default=100, ge=10, le=1000, description="most header fields in a request")
    header_timeout_s: float = Field(
        default=10.0, gt=0.0, le=300.0, description="time to receive a request's head, then 408 and close"
    )
    body_timeout_s: float = Field(
        default=10.0, gt=0.0, le=300.0, description="time to receive a request's body, then 408 and close"
    )
    keep_alive_s: float = Field(
        default=5.0, gt=0.0, le=300.0, description="idle time between requests before a connection closes"
    )
    max_connections: int = Field(
        default=1000, ge=1, le=100_000, description="open connections and requests before 503 answers"
    )

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        from slotfill.model.device import check_device_name, resolve_device

        check_device_name(value)  # raises ValueError with the choices
        if value.startswith("cuda"):
            # Whether CUDA is there takes torch; "auto" and "cpu" need no answer, so reading the
            # settings (the --workers supervisor does only that) does not load it.
            resolve_device(value)  # raises "CUDA is not available"
        return value

    @field_validator("api_key")
    @classmethod
    def _usable_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if not secret or secret != secret.strip():
            raise ValueError("must be non-empty without surrounding spaces (unset it to turn auth off)")
        if not secret.isascii() or not secret.isprintable():
            raise ValueError("must be printable ASCII (it travels in an HTTP header)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.batch_max_size > self.queue_limit:
            raise ValueError(
                f"batch_max_size ({self.batch_max_size}) cannot exceed queue_limit ({self.queue_limit})"
            )
        if self.max_batch_texts > self.queue_limit:
            raise ValueError(
                f"max_batch_texts ({self.max_batch_texts}) cannot exceed queue_limit ({self.queue_limit}):"
                " such a batch could never be queued"
            )
        return self

    @property
    def batching(self) -> bool:
        return self.batch_max_size > 1


def _describe(error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not name:
        return message
    where = f"{ENV_PREFIX}{name.upper()}"
    if name == "api_key" or error["type"] == "missing":
        return f"{where}: {message}"
    return f"{where}: {message} (got {error['input']!r})"


def _unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``SLOTFILL_*`` variables that match no setting: a typo would otherwise be silently ignored."""
    known = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    problems = []
    for variable in sorted(v for v in environ if v.upper().startswith(ENV_PREFIX)):
        if variable.upper() not in known:
            close = difflib.get_close_matches(variable.upper(), sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{variable}: unknown setting{hint}")
    return problems


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (``overrides`` win) or raise :class:`SettingsError` in one line."""
    problems = _unknown_variables(os.environ)
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        problems += [_describe(e) for e in error.errors(include_url=False)]
        raise SettingsError(f"invalid settings: {'; '.join(problems)}") from None
    if problems:
        raise SettingsError(f"invalid settings: {'; '.join(problems)}")
    return settings
