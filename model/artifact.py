"""The model folder: safetensors weights + JSON, and a loader that trusts nothing else.

Layout::

    config.json        format version, library versions, model settings and labels, file digests
    model.safetensors  the weights, in the config's ``weights_dtype`` (no pickle anywhere)
    vocab.json, ...    what the encoders learnt from the training data, each in the files it
                       names (``TokenEncoder.files``): vocab.json for ``word``, spm.model for ``spm``
    metrics.json       dev/test scores and the training data digest (informational)

Every file is written to a temporary name and ``os.replace``d, so a crash never leaves half a
file; every weight and encoder file is checked against the SHA-256 in ``config.json`` on load,
so a tampered or mismatched file is refused with its name.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from slotfill.model.atomic import write_atomic, write_bytes_atomic, write_text_atomic
from slotfill.model.batch import Featurizer
from slotfill.model.config import ModelConfig
from slotfill.model.encoders import ENCODERS
from slotfill.model.encoders.base import EncoderStateError
from slotfill.model.ensemble import build_tagger
from slotfill.model.metadata import ModelMetadata
from slotfill.model.tagger import Tagger

FORMAT = "slotfill-tagger"
FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
METRICS = "metrics.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy")


class ArtifactError(ValueError):
    """A model folder that cannot be loaded, with the file at fault named."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class Artifact:
    model: Tagger
    featurizer: Featurizer
    metadata: ModelMetadata


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def config_digest(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()


def library_versions() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            return "unknown"

    return {
        "slotfill": version("slotfill"),
        "torch": torch.__version__,
        "sentencepiece": version("sentencepiece"),
        "safetensors": version("safetensors"),
        "python": platform.python_version(),
    }


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file in the same folder, then rename)."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def save_artifact(
    folder: Path,
    model: Tagger,
    featurizer: Featurizer,
    training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> None:
    """Write a complete model folder; config.json goes last, so a folder with one is complete.

    The model's weights are first rounded in place to the precision the folder keeps
    (``Tagger.round_to_storage``), so the model in memory answers exactly as the saved one will.
    """
    folder.mkdir(parents=True, exist_ok=True)
    model.round_to_storage()
    dtype = getattr(torch, model.config.weights_dtype)
    state = {
        name: (tensor.to(dtype) if tensor.is_floating_point() else tensor).detach().cpu().contiguous()
        for name, tensor in model.state_dict().items()
    }
    # The weights carry a digest of the settings and labels they were trained with, so editing
    # config.json (relabelling slots, say) cannot pass unnoticed although it has no digest itself.
    tie = {"format": "pt", "config_sha256": config_digest(model.config.to_dict())}
    write_atomic(folder / WEIGHTS, lambda temp: save_file(state, str(temp), metadata=tie))
    files = [WEIGHTS]
    for name, data in featurizer.save().items():
        write_bytes_atomic(folder / name, data)
        files.append(name)
    if metrics is not None:
        write_json(folder / METRICS, metrics)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "model": model.config.to_dict(),
        **recorded_sizes(featurizer),
        "training": training or {},
        "files": {name: sha256_file(folder / name) for name in files},
    }
    write_json(folder / CONFIG, config)


def recorded_sizes(featurizer: Featurizer) -> dict[str, int]:
    """The encoder sizes ``config.json`` has always recorded (``vocab_size``, ``subword_size``),
    0 for an encoder not used; informational, the loader takes the sizes from the encoders' files."""
    sizes = featurizer.sizes
    return {kind.size_key: sizes.get(name, 0) for name, kind in ENCODERS.items() if kind.size_key}


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ArtifactError(path, "missing" if not path.exists() else f"unreadable ({error})") from None


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ArtifactError(path, "missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(path, f"not valid JSON ({error})") from None


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG
    config = _read_json(path)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ArtifactError(path, f'not a slotfill model config (expected "format": "{FORMAT}")')
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            path,
            f"format version {version!r} is not supported (this slotfill reads "
            f"{FORMAT_VERSION}); retrain or use a matching slotfill",
        )
    if not isinstance(config.get("files"), dict) or WEIGHTS not in config["files"]:
        raise ArtifactError(path, "has no file digests; the folder was not written by slotfill train")
    return config


def _check_files(folder: Path, digests: dict[str, Any]) -> None:
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise ArtifactError(
            folder / pickles[0],
            "pickle-style files are never loaded (code could run "
            "on load); a slotfill model is safetensors + JSON only",
        )
    for name, expected in digests.items():
        path = folder / name
        if Path(name).name != name:
            raise ArtifactError(folder / CONFIG, f"file entry {name!r} points outside the model folder")
        if not path.is_file():
            raise ArtifactError(path, "missing (listed in config.json)")
        if sha256_file(path) != expected:
            raise ArtifactError(
                path,
                "changed since training (SHA-256 differs from config.json); "
                "the folder is corrupt or was tampered with",
            )


def _build(folder: Path, config: dict[str, Any]) -> tuple[Tagger, Featurizer]:
    try:
        model_config = ModelConfig.from_dict(config["model"])
    except (KeyError, TypeError, ValueError) as error:
        raise ArtifactError(folder / CONFIG, f"bad model settings: {error}") from None
    try:
        featurizer = Featurizer.load(model_config, lambda name: _read_bytes(folder / name))
    except EncoderStateError as error:
        raise ArtifactError(folder / error.file, error.reason) from None
    model = build_tagger(model_config, featurizer.sizes)
    try:
        with safe_open(str(folder / WEIGHTS), framework="pt") as weights:
            tie = (weights.metadata() or {}).get("config_sha256")
        state = load_file(str(folder / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as error:
        raise ArtifactError(folder / WEIGHTS, f"not a valid safetensors file ({error})") from None
    # The tie first: an edited config.json (a label added, a size changed) is the likelier fault
    # than weights that fit no config, and it names the file to look at in one line.
    if tie != config_digest(config["model"]):
        raise ArtifactError(
            folder / CONFIG,
            "model settings or labels differ from those the weights were trained with (edited config.json?)",
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ArtifactError(
            folder / WEIGHTS, f"weights do not fit config.json: {_first_line(error)}"
        ) from None
    return model.eval(), featurizer


def _first_line(error: RuntimeError) -> str:
    """torch's size-mismatch report in one line: its first problem and how many there are."""
    problems = [line.strip() for line in str(error).splitlines()[1:] if line.strip()]
    if not problems:
        return str(error).strip()
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return problems[0] + more


def load_artifact(folder: Path) -> Artifact:
    """Load and verify a model folder; any problem raises :class:`ArtifactError` naming the file."""
    if not folder.is_dir():
        raise ArtifactError(folder, "no such model folder")
    config = _read_config(folder)
    _check_files(folder, config["files"])
    model, featurizer = _build(folder, config)
    metrics = _read_json(folder / METRICS) if (folder / METRICS).is_file() else {}
    created = config.get("created")
    metadata = ModelMetadata(
        id=folder.resolve().name,
        digest=str(config["files"][WEIGHTS]),
        created=str(created) if created else None,
        versions=_mapping(config.get("versions")),
        training=_mapping(config.get("training")),
        metrics=_mapping(metrics),
    )
    return Artifact(model, featurizer, metadata)


def _mapping(value: object) -> dict[str, Any]:
    """A JSON object as written, or empty: the informational parts never stop a model loading."""
    return dict(value) if isinstance(value, dict) else {}
