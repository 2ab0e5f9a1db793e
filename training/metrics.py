"""Slot and intent metrics computed exactly as CoNLL ``conlleval`` computes them, so our numbers compare
with the ones papers report on ATIS and SNIPS.

``conlleval`` counts chunks, not tags: a chunk is correct only when its start, its end and its type all
match a gold chunk. Chunk boundaries come from :func:`model.spans.tags_to_spans`, which already follows
``conlleval`` for ill-formed input (an ``I-X`` after ``O`` or after another type opens a chunk). Each
utterance is chunked on its own, which is what the blank line between sentences does in ``conlleval``:
it ends every open chunk.

``conlleval`` prints percentages; everything here is a fraction in ``[0, 1]`` and only the report shows
percentages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from slotfill.model.spans import Span, tags_to_spans
from slotfill.training.calibration import Calibration


def _ratio(numerator: int, denominator: int) -> float:
    # conlleval leaves a score at 0 when its denominator is 0 (no chunk predicted, none in gold, ...).
    return numerator / denominator if denominator else 0.0


@dataclass(frozen=True, slots=True)
class SlotScore:
    """Chunk counts of one slot type (or of all of them) and the scores ``conlleval`` derives from them.

    Counts, not scores, are stored so that scores of several parts can be added up exactly (micro
    averaging) and so that a report shows what a percentage rests on.

    >>> s = SlotScore(correct=3, predicted=4, gold=6)
    >>> s.precision, s.recall, round(s.f1, 4)
    (0.75, 0.5, 0.6)
    """

    correct: int
    predicted: int
    gold: int

    def __post_init__(self) -> None:
        if min(self.correct, self.predicted, self.gold) < 0 or self.correct > min(self.predicted, self.gold):
            raise ValueError(
                f"inconsistent chunk counts: correct={self.correct}, predicted={self.predicted}, "
                f"gold={self.gold} (need 0 <= correct <= predicted, gold)"
            )

    @property
    def precision(self) -> float:
        """Share of predicted chunks that are correct (0 when nothing was predicted)."""
        return _ratio(self.correct, self.predicted)

    @property
    def recall(self) -> float:
        """Share of gold chunks that were found (0 when there is no gold chunk)."""
        return _ratio(self.correct, self.gold)

    @property
    def f1(self) -> float:
        """Harmonic mean ``2PR / (P + R)``, written as ``conlleval`` writes it (0 when ``P + R`` is 0)."""
        precision, recall = self.precision, self.recall
        total = precision + recall
        return 2 * precision * recall / total if total > 0 else 0.0

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready scores (fractions) and the counts they come from."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "gold": self.gold,
            "predicted": self.predicted,
            "correct": self.correct,
        }


@dataclass(frozen=True, slots=True)
class IntentConfusion:
    """How many utterances of intent ``gold`` were given intent ``predicted`` instead."""

    gold: str
    predicted: str
    count: int


@dataclass(frozen=True)
class Scores:
    """Everything one evaluation measures.

    ``slot`` is the micro total over all chunks, the number papers call "slot F1"; ``per_slot`` holds
    every type found in gold or in predictions, sorted by name as ``conlleval`` lists them. Accuracies
    are fractions; ``intent_accuracy`` is ``None`` when no intents were scored, so that a tagger-only
    model is not reported with a made-up intent score.
    """

    slot: SlotScore
    per_slot: dict[str, SlotScore]
    intent_accuracy: float | None
    sentence_accuracy: float
    token_accuracy: float
    utterances: int
    tokens: int
    # The wrong intents by (gold, predicted) pair, most frequent first: where intent accuracy goes.
    intent_confusions: tuple[IntentConfusion, ...] = ()
    # How well confidences read as probabilities (training.calibration); None when not measured:
    # tags alone carry no confidences.
    intent_calibration: Calibration | None = None
    slot_calibration: Calibration | None = None

    def headline(self) -> dict[str, float | None]:
        """The three scores models are compared by, as fractions."""
        return {
            "slot_f1": self.slot.f1,
            "intent_accuracy": self.intent_accuracy,
            "sentence_accuracy": self.sentence_accuracy,
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-ready data: fractions, not percentages, plus the counts behind them."""
        return {
            "slot_f1": self.slot.f1,
            "slot_precision": self.slot.precision,
            "slot_recall": self.slot.recall,
            "slot_correct": self.slot.correct,
            "slot_predicted": self.slot.predicted,
            "slot_gold": self.slot.gold,
            "intent_accuracy": self.intent_accuracy,
            "sentence_accuracy": self.sentence_accuracy,
            "token_accuracy": self.token_accuracy,
            "utterances": self.utterances,
            "tokens": self.tokens,
            "per_slot": {label: counts.to_dict() for label, counts in self.per_slot.items()},
            "intent_confusions": [
                {"gold": c.gold, "predicted": c.predicted, "count": c.count} for c in self.intent_confusions
            ],
            "intent_calibration": self.intent_calibration.to_dict() if self.intent_calibration else None,
            "slot_calibration": self.slot_calibration.to_dict() if self.slot_calibration else None,
        }


def _spans(tags: Sequence[str], index: int, side: str) -> set[Span]:
    if isinstance(tags, str):
        # A bare string is a Sequence[str] too; iterating it would score its characters as tags.
        raise TypeError(f"utterance {index} ({side}) is a string, expected a sequence of tags: {tags!r}")
    try:
        return set(tags_to_spans(tags))
    except ValueError as error:
        raise ValueError(f"utterance {index} ({side}): {error}") from error


def _intent_matches(
    gold_intents: Sequence[str] | None, predicted_intents: Sequence[str] | None, utterances: int
) -> list[bool] | None:
    """Whether each utterance's intent is right; ``None`` when intents are not scored."""
    if gold_intents is None and predicted_intents is None:
        return None
    if gold_intents is None or predicted_intents is None:
        given = "gold" if predicted_intents is None else "predicted"
        raise ValueError(f"only {given} intents were given; pass both or neither")
    for side, intents in (("gold", gold_intents), ("predicted", predicted_intents)):
        if isinstance(intents, str) or len(intents) != utterances:
            count = "a string" if isinstance(intents, str) else f"{len(intents)} intents"
            raise ValueError(f"{utterances} utterances but {side} intents are {count}")
    return [g == p for g, p in zip(gold_intents, predicted_intents, strict=True)]


def score(
    gold_tags: Sequence[Sequence[str]],
    predicted_tags: Sequence[Sequence[str]],
    gold_intents: Sequence[str] | None = None,
    predicted_intents: Sequence[str] | None = None,
) -> Scores:
    """Score predicted BIO tags (and intents) against gold ones, the ``conlleval`` way.

    Chunks never cross utterances. Token accuracy is ``conlleval``'s "accuracy": the share of tokens
    whose whole tag (prefix and type) is right. An utterance counts for sentence accuracy when every tag
    is right and, if intents are given, its intent too.

    >>> s = score([["B-dest", "I-dest", "O"]], [["B-dest", "O", "O"]], ["flight"], ["flight"])
    >>> s.slot, s.intent_accuracy, s.sentence_accuracy, round(s.token_accuracy, 4)
    (SlotScore(correct=0, predicted=1, gold=1), 1.0, 0.0, 0.6667)
    """
    if len(gold_tags) != len(predicted_tags):
        raise ValueError(f"{len(gold_tags)} gold utterances but {len(predicted_tags)} predicted ones")
    intent_right = _intent_matches(gold_intents, predicted_intents, len(gold_tags))

    gold_counts: Counter[str] = Counter()
    predicted_counts: Counter[str] = Counter()
    correct_counts: Counter[str] = Counter()
    tokens = right_tokens = right_sentences = 0
    for index, (gold, predicted) in enumerate(zip(gold_tags, predicted_tags, strict=True)):
        gold_spans = _spans(gold, index, "gold")
        predicted_spans = _spans(predicted, index, "predicted")
        if len(gold) != len(predicted):
            raise ValueError(f"utterance {index}: {len(gold)} gold tags but {len(predicted)} predicted tags")
        gold_counts.update(span.label for span in gold_spans)
        predicted_counts.update(span.label for span in predicted_spans)
        correct_counts.update(span.label for span in gold_spans & predicted_spans)

        right = sum(g == p for g, p in zip(gold, predicted, strict=True))
        tokens += len(gold)
        right_tokens += right
        right_sentences += right == len(gold) and (intent_right is None or intent_right[index])

    per_slot = {
        label: SlotScore(correct_counts[label], predicted_counts[label], gold_counts[label])
        for label in sorted(gold_counts.keys() | predicted_counts.keys())
    }
    utterances = len(gold_tags)
    intent_accuracy = None if intent_right is None else _ratio(sum(intent_right), utterances)
    confusions: Counter[tuple[str, str]] = Counter()
    if gold_intents is not None and predicted_intents is not None:
        confusions.update((g, p) for g, p in zip(gold_intents, predicted_intents, strict=True) if g != p)
    return Scores(
        slot=SlotScore(correct_counts.total(), predicted_counts.total(), gold_counts.total()),
        per_slot=per_slot,
        intent_accuracy=intent_accuracy,
        sentence_accuracy=_ratio(right_sentences, utterances),
        token_accuracy=_ratio(right_tokens, tokens),
        utterances=utterances,
        tokens=tokens,
        intent_confusions=tuple(
            IntentConfusion(gold, predicted, count)
            for (gold, predicted), count in sorted(confusions.items(), key=lambda item: (-item[1], item[0]))
        ),
    )
