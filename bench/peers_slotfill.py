"""slotfill in ``bench/peers.py``: default settings, trained by the pipeline behind ``slotfill train``."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from peers_base import Budget, Prediction

from slotfill.training.data import Example

BATCH_SIZE = 256  # throughput batches; Predictor.tag sorts by length first, so padding stays small


def model_bytes(folder: Path) -> int:
    """The files ``Predictor.load`` reads: config.json and the files it lists (not logs or plots)."""
    config = json.loads((folder / "config.json").read_text())
    names = ["config.json", *config["files"]]
    return sum((folder / name).stat().st_size for name in names)


class SlotfillTagger:
    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor

    def predict(self, sentences: Sequence[Sequence[str]]) -> Prediction:
        taggings = self.predictor.tag(sentences, batch_size=BATCH_SIZE)
        intents = None
        if self.predictor.has_intents:
            intents = [t.intent.intent if t.intent else "" for t in taggings]
        return Prediction([t.tags for t in taggings], intents)


class SlotfillSystem:
    label = "slotfill (default settings)"

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        import torch

        torch.set_num_threads(budget.threads)

    def fit(self, train: Sequence[Example], dev: Sequence[Example], folder: Path) -> dict[str, Any]:
        from slotfill.model.config import ModelOptions
        from slotfill.training.config import TrainConfig
        from slotfill.training.pipeline import Corpus, train_model

        config = TrainConfig(device="cpu", epochs=1) if self.budget.quick else TrainConfig(device="cpu")
        corpus = Corpus(list(train), list(dev), [], "jointbert", "bench/peers")
        started = time.perf_counter()
        metrics = train_model(corpus, folder, ModelOptions(), config, progress=False)
        seconds = time.perf_counter() - started
        return {
            "best_epoch": metrics["best_epoch"],
            "epochs_run": metrics["epochs_run"],
            "dev_slot_f1": metrics["dev"]["slot_f1"],
            "train_seconds": seconds,
            "model_bytes": model_bytes(folder),
        }

    def load(self, folder: Path) -> SlotfillTagger:
        from slotfill.model.predictor import Predictor

        return SlotfillTagger(Predictor.load(folder, device="cpu"))
