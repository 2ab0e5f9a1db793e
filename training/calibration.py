"""Whether confidences read as probabilities: the expected calibration error (ECE).

A chatbot acts on confidences ("ask the user again below 0.7"), so of the answers a model gives
with confidence 0.9, about nine in ten should be right. The expected calibration error (Guo et
al., 2017) measures the gap: the answers go into equal-width confidence bins, and the ECE is the
mean of |hit rate - mean confidence| over the bins, weighted by each bin's share of the answers.
0 is perfect; a model that always says 0.99 and is right 80% of the time scores 0.19.

Intents are scored per utterance. Slots are scored per predicted span, with the confidence the
API reports for it (``model.spans.slot_confidence``: its least sure token); a span is right when
a gold span has the same start, end and type (the ``conlleval`` rule).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from slotfill.model.spans import slot_confidence, tags_to_spans

BINS = 10


@dataclass(frozen=True, slots=True)
class Bin:
    """The answers whose confidence fell in ``[low, high)`` (the last bin includes 1)."""

    low: float
    high: float
    count: int
    confidence: float  # mean confidence of the bin's answers
    accuracy: float  # share of them that were right


@dataclass(frozen=True, slots=True)
class Calibration:
    ece: float
    count: int
    confidence: float  # mean over all answers
    accuracy: float
    bins: tuple[Bin, ...]  # the non-empty bins, lowest first

    def to_dict(self) -> dict[str, object]:
        return {
            "ece": self.ece,
            "count": self.count,
            "mean_confidence": self.confidence,
            "accuracy": self.accuracy,
            "bins": [asdict(b) for b in self.bins],
        }


def calibration(confidences: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> Calibration:
    """Calibration of answers given with ``confidences``, of which those marked ``correct`` were right.

    Two answers at 0.95 (one right), one at 0.55 and one at 0.65 (both right): the top bin is off
    by 0.45 and holds half the answers, the others are off by 0.45 and 0.35 with a quarter each.

    >>> c = calibration([0.95, 0.95, 0.55, 0.65], [True, False, True, True])
    >>> round(c.ece, 4), c.count, c.accuracy, [(b.low, b.count) for b in c.bins]
    (0.425, 4, 0.75, [(0.5, 1), (0.6, 1), (0.9, 2)])
    """
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} outcomes")
    if not confidences:
        raise ValueError("no answers to calibrate")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    members: list[list[int]] = [[] for _ in range(bins)]
    for index, confidence in enumerate(confidences):
        if not (0.0 <= confidence <= 1.0) or math.isnan(confidence):
            raise ValueError(f"answer {index}: confidence {confidence} is not in [0, 1]")
        members[min(int(confidence * bins), bins - 1)].append(index)
    total = len(confidences)
    found = []
    ece = 0.0
    for number, indices in enumerate(members):
        if not indices:
            continue
        confidence = sum(confidences[i] for i in indices) / len(indices)
        accuracy = sum(bool(correct[i]) for i in indices) / len(indices)
        ece += len(indices) / total * abs(accuracy - confidence)
        found.append(Bin(number / bins, (number + 1) / bins, len(indices), confidence, accuracy))
    return Calibration(
        ece=ece,
        count=total,
        confidence=sum(confidences) / total,
        accuracy=sum(bool(c) for c in correct) / total,
        bins=tuple(found),
    )


def slot_answers(
    gold_tags: Sequence[Sequence[str]],
    predicted_tags: Sequence[Sequence[str]],
    confidences: Sequence[Sequence[float]],
) -> tuple[list[float], list[bool]]:
    """Each predicted span's confidence (its least sure token) and whether gold has that span.

    >>> slot_answers([["B-dest", "I-dest", "O"]], [["B-dest", "I-dest", "B-time"]], [[0.9, 0.8, 0.6]])
    ([0.8, 0.6], [True, False])
    """
    found: list[float] = []
    right: list[bool] = []
    for gold, predicted, sure in zip(gold_tags, predicted_tags, confidences, strict=True):
        gold_spans = set(tags_to_spans(gold))
        for span in tags_to_spans(predicted):
            found.append(slot_confidence(sure, span))
            right.append(span in gold_spans)
    return found, right
