"""Peer: a linear-chain CRF (sklearn-crfsuite) over hand-made features, the classic slot tagger.

The features are the standard ones (Snips NLU and Rasa's CRFEntityExtractor use the same kind):
lowercased word, 2- and 3-letter prefixes and suffixes, word shape, digit flags, the words within
two positions, and sentence boundaries. L1/L2 strengths (c1, c2) are chosen on dev slot F1; intents
come from :class:`TfidfIntent`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from peers_base import Budget, Prediction, TfidfIntent, folder_bytes

from slotfill.training.data import Example
from slotfill.training.metrics import score

MODEL_FILE = "crf.crfsuite"
_SHAPES = [(re.compile(r"[A-Z]"), "X"), (re.compile(r"[a-z]"), "x"), (re.compile(r"[0-9]"), "d")]
_REPEATS = re.compile(r"(.)\1+")

Features = dict[str, str | bool]


def shape(word: str) -> str:
    """Letters and digits as X/x/d, runs collapsed: ``"6:30pm"`` -> ``"d:dx"``."""
    for pattern, symbol in _SHAPES:
        word = pattern.sub(symbol, word)
    return _REPEATS.sub(r"\1", word)


def _word_features(word: str) -> Features:
    lower = word.lower()
    return {
        "bias": True,
        "w": lower,
        "p2": lower[:2],
        "p3": lower[:3],
        "s2": lower[-2:],
        "s3": lower[-3:],
        "shape": shape(word),
        "isdigit": word.isdigit(),
        "hasdigit": any(ch.isdigit() for ch in word),
    }


def sentence_features(tokens: Sequence[str]) -> list[Features]:
    """One feature dict per token: its own features and the words within two positions."""
    lowered = [t.lower() for t in tokens]
    out = []
    for i, token in enumerate(tokens):
        features = _word_features(token)
        for offset in (-2, -1, 1, 2):
            j = i + offset
            if 0 <= j < len(tokens):
                features[f"{offset:+d}:w"] = lowered[j]
        if i == 0:
            features["BOS"] = True
        if i == len(tokens) - 1:
            features["EOS"] = True
        out.append(features)
    return out


class CrfTagger:
    def __init__(self, crf: Any, intent: TfidfIntent) -> None:
        self.crf = crf
        self.intent = intent

    def predict(self, sentences: Sequence[Sequence[str]]) -> Prediction:
        tags = [list(t) for t in self.crf.predict([sentence_features(s) for s in sentences])]
        return Prediction(tags, self.intent.predict(sentences))


class CrfSystem:
    label = "CRF (sklearn-crfsuite) + TF-IDF LR intents"

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def _make(self, c1: float, c2: float, path: Path) -> Any:
        from sklearn_crfsuite import CRF

        return CRF(
            algorithm="lbfgs",
            c1=c1,
            c2=c2,
            max_iterations=self.budget.crf_iterations,
            all_possible_transitions=True,
            model_filename=str(path),
        )

    def fit(self, train: Sequence[Example], dev: Sequence[Example], folder: Path) -> dict[str, Any]:
        started = time.perf_counter()
        x = [sentence_features(e.tokens) for e in train]
        featurise_seconds = time.perf_counter() - started
        y = [list(e.tags) for e in train]
        x_dev = [sentence_features(e.tokens) for e in dev]
        best: dict[str, Any] = {}
        grid_seconds = 0.0
        with tempfile.TemporaryDirectory(prefix="peers-crf-") as scratch:
            for index, (c1, c2) in enumerate(self.budget.crf_grid):
                path = Path(scratch) / f"{index}.crfsuite"
                crf = self._make(c1, c2, path)  # imports before the clock starts
                started = time.perf_counter()
                crf.fit(x, y)
                seconds = time.perf_counter() - started
                grid_seconds += seconds
                f1 = score([list(e.tags) for e in dev], crf.predict(x_dev)).slot.f1
                if not best or f1 > best["dev_slot_f1"]:
                    best = {"c1": c1, "c2": c2, "dev_slot_f1": f1, "crf_seconds": seconds, "path": path}
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(best.pop("path"), folder / MODEL_FILE)
        intent = TfidfIntent()
        info = intent.fit(train, dev, self.budget.intent_cs)
        intent.save(folder)
        return {
            **best,
            **info,
            "grid": len(self.budget.crf_grid),
            "grid_seconds": grid_seconds,
            "featurise_seconds": featurise_seconds,
            "train_seconds": featurise_seconds + best["crf_seconds"] + info["intent_train_seconds"],
            "model_bytes": folder_bytes(folder),
        }

    def load(self, folder: Path) -> CrfTagger:
        from sklearn_crfsuite import CRF

        return CrfTagger(CRF(model_filename=str(folder / MODEL_FILE)), TfidfIntent.load(folder))
