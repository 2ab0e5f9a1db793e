"""What every system in ``bench/peers.py`` provides, and the intent classifier the peers share.

A system is trained once (``fit``: train, choose on dev, write a model folder) and served from that
folder (``load`` -> :class:`Tagger`), so the harness measures all of them the same way and the
serving figures describe what a user would deploy, not the object left over from training.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from slotfill.training.data import Example


@dataclass(frozen=True)
class Budget:
    """How much work a run may do: the full benchmark, or ``--quick`` (a smoke test of the script)."""

    quick: bool = False
    threads: int = 2

    @property
    def crf_grid(self) -> list[tuple[float, float]]:
        """(c1, c2) pairs tried on dev."""
        if self.quick:
            return [(0.1, 0.05)]
        # 0.1/0.1 is the usual default (Rasa's CRFEntityExtractor, sklearn-crfsuite's tutorial)
        return [(c1, c2) for c1 in (0.05, 0.1, 0.25) for c2 in (0.01, 0.1)]

    @property
    def crf_iterations(self) -> int:
        return 20 if self.quick else 100

    @property
    def intent_cs(self) -> tuple[float, ...]:
        """Inverse regularisation strengths tried for the TF-IDF logistic regression."""
        return (10.0,) if self.quick else (1.0, 10.0, 100.0)

    @property
    def spacy_epochs(self) -> int:
        return 1 if self.quick else 20

    @property
    def spacy_patience(self) -> int:
        """Stop after this many epochs without a better dev slot F1."""
        return 4


@dataclass(frozen=True)
class Prediction:
    """Tags for every sentence, and intents when the system predicts them."""

    tags: list[list[str]]
    intents: list[str] | None


class Tagger(Protocol):
    """A model loaded for serving."""

    def predict(self, sentences: Sequence[Sequence[str]]) -> Prediction: ...


class System(Protocol):
    """One contender: how to train it and how to load what training wrote."""

    label: str  # the name the table shows

    def fit(self, train: Sequence[Example], dev: Sequence[Example], folder: Path) -> dict[str, Any]:
        """Train, choose settings on ``dev``, write the model into ``folder``.

        Returns what was chosen plus ``train_seconds`` (the fit of the chosen settings) and
        ``model_bytes`` (the files a server needs).
        """
        ...

    def load(self, folder: Path) -> Tagger: ...


def folder_bytes(folder: Path) -> int:
    """Size of every file under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def joined(tokens: Sequence[str]) -> str:
    return " ".join(tokens)


class TfidfIntent:
    """The usual companion of a CRF or spaCy tagger: TF-IDF over word 1-2-grams + logistic regression.

    ``C`` is chosen on dev intent accuracy. Saved with joblib: this is the peer's own format, not a
    slotfill artifact.
    """

    FILE = "intent.joblib"

    def __init__(self, pipeline: Any = None) -> None:
        self.pipeline = pipeline

    @staticmethod
    def _make(c: float) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        return make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+"),
            LogisticRegression(C=c, max_iter=2000),
        )

    def fit(self, train: Sequence[Example], dev: Sequence[Example], cs: Sequence[float]) -> dict[str, Any]:
        texts = [joined(e.tokens) for e in train]
        labels = [e.intent or "" for e in train]
        best: tuple[float, float, float, Any] | None = None  # (dev accuracy, C, seconds, pipeline)
        for c in cs:
            pipeline = self._make(c)  # imports scikit-learn before the clock starts
            started = time.perf_counter()
            pipeline.fit(texts, labels)
            seconds = time.perf_counter() - started
            predicted = pipeline.predict([joined(e.tokens) for e in dev])
            accuracy = sum(p == e.intent for p, e in zip(predicted, dev, strict=True)) / max(1, len(dev))
            if best is None or accuracy > best[0]:
                best = (accuracy, c, seconds, pipeline)
        if best is None:
            raise ValueError("no C to try for the intent classifier")
        self.pipeline = best[3]
        return {"intent_C": best[1], "intent_dev_accuracy": best[0], "intent_train_seconds": best[2]}

    def save(self, folder: Path) -> None:
        import joblib

        joblib.dump(self.pipeline, folder / self.FILE)

    @classmethod
    def load(cls, folder: Path) -> TfidfIntent:
        import joblib

        return cls(joblib.load(folder / cls.FILE))

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[str]:
        return [str(label) for label in self.pipeline.predict([joined(s) for s in sentences])]
