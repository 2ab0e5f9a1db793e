"""``slotfill train`` end to end: read data, build the tagger, fit, score, write the model folder."""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slotfill.model.artifact import save_artifact, write_json
from slotfill.model.config import ModelOptions
from slotfill.model.device import resolve_device
from slotfill.model.predictor import Predictor
from slotfill.training.builder import build_featurizer
from slotfill.training.config import TrainConfig
from slotfill.training.data import DataError, Example
from slotfill.training.distill import STUDENT, distil
from slotfill.training.formats import available_splits, detect_format, read_split
from slotfill.training.labelmap import LabelMap
from slotfill.training.members import fit_members
from slotfill.training.plot import plot_history
from slotfill.training.seeding import seed_everything
from slotfill.training.temperature import fit_temperatures
from slotfill.training.trainer import FitResult, evaluate_examples

logger = logging.getLogger(__name__)

LOG_FILE = "train_log.jsonl"
CURVES_FILE = "training_curves.png"


@dataclass
class Corpus:
    """The splits of one data folder, label map applied, with a digest of what was read."""

    train: list[Example]
    dev: list[Example]
    test: list[Example]
    format: str
    digest: str
    dev_held_out: bool = False


def _digest(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for e in examples:
        digest.update(repr((e.tokens, e.tags, e.intent)).encode("utf-8"))
    return digest.hexdigest()


def load_corpus(
    data: Path,
    fmt: str | None = None,
    label_map: LabelMap | None = None,
    bio_policy: str = "strict",
    dev_fraction: float = 0.1,
    seed: int = 13,
) -> Corpus:
    """Read train (required), dev and test; without dev, hold out ``dev_fraction`` of train."""
    if not data.is_dir():
        raise DataError(data, None, "data directory not found")
    fmt = fmt or detect_format(data)
    splits = available_splits(data, fmt)
    if "train" not in splits:
        found = ", ".join(splits) or "none"
        raise DataError(data, None, f"no train split found for format {fmt!r} (found: {found})")
    read = {
        name: read_split(data, name, fmt, bio_policy) for name in ("train", "dev", "test") if name in splits
    }
    if label_map is not None:
        read = {name: label_map.apply_all(examples) for name, examples in read.items()}
    train, dev = read["train"], read.get("dev", [])
    held_out = not dev
    if held_out:
        if len(train) < 10:
            raise DataError(
                data,
                None,
                f"only {len(train)} training utterances and no dev split; "
                "need at least 10 to hold some out for early stopping",
            )
        shuffled = list(train)
        random.Random(seed).shuffle(shuffled)
        cut = max(1, round(len(shuffled) * dev_fraction))
        if cut >= len(shuffled):
            raise DataError(
                data,
                None,
                f"--dev-fraction {dev_fraction} would hold out all {len(shuffled)} "
                "training utterances; lower it or add a dev split",
            )
        dev, train = shuffled[:cut], shuffled[cut:]
        logger.info("no dev split: holding out %d of %d training utterances", cut, len(shuffled))
    test = read.get("test", [])
    digest = _digest([*read["train"], *read.get("dev", []), *test])
    return Corpus(train, dev, test, fmt, digest, held_out)


def train_model(
    corpus: Corpus,
    out: Path,
    options: ModelOptions,
    config: TrainConfig,
    progress: bool = True,
    extra_eval: Mapping[str, Sequence[Example]] | None = None,
) -> dict[str, Any]:
    """Fit on ``corpus``, write the model folder ``out`` and return its metrics.

    ``extra_eval`` names more splits to score into ``metrics.json`` beside dev and test (the travel
    corpus's ``unseen`` split), so their scores travel with the model.
    """
    device = resolve_device(config.device)
    seed_everything(config.seed)
    featurizer = build_featurizer(corpus.train, options)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / LOG_FILE
    log_path.unlink(missing_ok=True)
    logger.info("training on %d utterances (%d dev) on %s", len(corpus.train), len(corpus.dev), device)
    # One network is an ensemble of one: fit_members then trains exactly what fit alone would.
    model, results = fit_members(
        featurizer.config.replace(members=config.members),
        featurizer,
        corpus.train,
        corpus.dev,
        config,
        device,
        log_path=log_path,
        progress=progress,
    )
    distilled = None
    # Members cut short by Ctrl-C are kept as they are: the user asked training to stop.
    if config.distill > 0 and model.config.members > 1 and not any(r.interrupted for r in results):
        distilled = distil(
            model,
            featurizer,
            corpus.train,
            corpus.dev,
            config,
            device,
            scored={"dev": corpus.dev, "test": corpus.test},
            log_path=log_path,
            progress=progress,
        )
        model = distilled.model
    student = distilled.student if distilled is not None else None
    # Scores from here on are those of the weights as the folder keeps them.
    model.round_to_storage()
    if config.calibrate:
        temperatures = fit_temperatures(model, featurizer, corpus.dev, device)
        model.config = model.config.replace(
            slot_temperature=temperatures.slot, intent_temperature=temperatures.intent
        )
        logger.info(
            "calibrated on dev: slot temperature %.3f, intent temperature %.3f",
            temperatures.slot,
            temperatures.intent,
        )
    predictor = Predictor(model, featurizer, device)
    metrics = _training_metrics(results, config, student)
    if distilled is not None and distilled.teacher:
        metrics["teacher"] = distilled.teacher
    if distilled is not None and distilled.interrupted:
        metrics["interrupted"] = True
    metrics["data"] = {
        "format": corpus.format,
        "digest": corpus.digest,
        "train": len(corpus.train),
        "dev": len(corpus.dev),
        "test": len(corpus.test),
        "dev_held_out": corpus.dev_held_out,
    }
    metrics["dev"] = evaluate_examples(predictor, corpus.dev).to_dict()
    if corpus.test:
        metrics["test"] = evaluate_examples(predictor, corpus.test).to_dict()
    for name, examples in (extra_eval or {}).items():
        metrics[name] = evaluate_examples(predictor, examples).to_dict()
    training = {"settings": config.model_dump(), "device": str(device)}
    save_artifact(out, model, featurizer, training=training, metrics=metrics)
    histories = [r.history for r in results]
    names = [f"member {index + 1}" for index in range(len(results))]
    if student is not None:
        histories.append(student.history)
        names.append(STUDENT)
    plot_history(histories, out / CURVES_FILE, names)
    write_json(out / "train_config.json", {"model": options.model_dump(), "train": config.model_dump()})
    if config.onnx:
        _export(out)
    return metrics


def _export(out: Path) -> None:
    """Write the folder's ONNX graph, which ``--backend auto`` serves; a cell with no fused ONNX
    kernel is served by torch instead, which is said, not an error."""
    from slotfill.model.onnx_graph import ExportError, write_onnx

    try:
        write_onnx(out)
    except ExportError as error:
        logger.info("no ONNX graph written (torch serves this model): %s", error)


def _training_metrics(
    results: Sequence[FitResult], config: TrainConfig, student: FitResult | None = None
) -> dict[str, Any]:
    """How training went: the best epoch and run of what the folder keeps (the members' mean
    and longest, or the student's), the summed training time of every network trained (compute,
    not wall time), and each member's and the student's own figures."""
    kept = [student] if student is not None else list(results)
    trained = [*results, *([student] if student is not None else [])]
    metrics: dict[str, Any] = {
        "best_epoch": round(sum(r.best_epoch for r in kept) / len(kept)),
        "epochs_run": max(len(r.history) for r in kept),
        "interrupted": any(r.interrupted for r in trained),
        "train_seconds": round(sum(h.seconds for r in trained for h in r.history), 1),
    }
    if len(results) > 1:
        metrics["members"] = [_fit_summary(r, config.seed + index) for index, r in enumerate(results)]
    if student is not None:
        metrics["student"] = _fit_summary(student, config.seed)
    return metrics


def _fit_summary(result: FitResult, seed: int) -> dict[str, Any]:
    """One network's training: its seed, best epoch, run, time and best dev scores."""
    return {
        "seed": seed,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "train_seconds": round(sum(h.seconds for h in result.history), 1),
        "dev": result.best_dev.headline(),
    }
