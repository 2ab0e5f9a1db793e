"""Presenting evaluation results: a terminal table for people, a JSON report for tools, and the
``conlleval`` input file so anyone can re-score our predictions with the reference script.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from rich.table import Table

from slotfill.model.atomic import write_text_atomic
from slotfill.model.spans import split_tag
from slotfill.training.data import DataError
from slotfill.training.metrics import Scores

# conlleval reads a line whose first field is this as a sentence break, as it does a blank line.
CONLLEVAL_BOUNDARY = "-X-"


def _percent(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{100 * fraction:.2f}"


def render_table(scores: Scores, title: str | None = None) -> Table:
    """A table for the terminal, in percentages with 2 decimals as papers print them.

    Slot types come first, most frequent in gold first (the rows that weigh most on the micro score),
    then the micro total, then the utterance-level accuracies, whose "support" is the number of
    utterances (tokens for token accuracy). Print it with ``rich.console.Console().print(table)``.
    """
    caption = (
        "scores in %; support: gold chunks, utterances or tokens; calibration error: mean gap between"
        " confidence and hit rate (ECE, 10 bins) over utterances or predicted slots, lower is better"
    )
    table = Table(title=title, caption=caption)
    table.add_column("slot")
    for header in ("precision", "recall", "F1 / acc.", "support"):
        table.add_column(header, justify="right")

    by_support = sorted(scores.per_slot.items(), key=lambda item: (-item[1].gold, item[0]))
    for label, slot in by_support:
        table.add_row(
            label, _percent(slot.precision), _percent(slot.recall), _percent(slot.f1), str(slot.gold)
        )
    if by_support:
        table.add_section()
    total = scores.slot
    table.add_row(
        "all slots (micro)",
        _percent(total.precision),
        _percent(total.recall),
        _percent(total.f1),
        str(total.gold),
        style="bold",
    )
    table.add_section()
    utterances = str(scores.utterances)
    table.add_row("intent accuracy", "", "", _percent(scores.intent_accuracy), utterances)
    table.add_row("sentence accuracy", "", "", _percent(scores.sentence_accuracy), utterances)
    table.add_row("token accuracy", "", "", _percent(scores.token_accuracy), str(scores.tokens))
    for name, measured in (("intent", scores.intent_calibration), ("slot", scores.slot_calibration)):
        if measured is not None:
            table.add_row(f"{name} calibration error", "", "", _percent(measured.ece), str(measured.count))
    return table


def render_confusions(scores: Scores, known: Collection[str], limit: int = 10) -> Table | None:
    """The most frequent wrong intents (gold -> predicted), or ``None`` when none was wrong.

    A gold intent outside ``known`` (the model's labels) is marked: no prediction could get it
    right, so its errors say something about the data rather than the model.
    """
    if not scores.intent_confusions:
        return None
    shown = scores.intent_confusions[:limit]
    rest = sum(c.count for c in scores.intent_confusions[limit:])
    caption = f"and {rest} more in other pairs" if rest else None
    table = Table(title="most frequent intent errors", caption=caption)
    table.add_column("gold intent")
    table.add_column("predicted")
    table.add_column("utterances", justify="right")
    for confusion in shown:
        gold = confusion.gold if confusion.gold in known else f"{confusion.gold} (not a model label)"
        table.add_row(gold, confusion.predicted, str(confusion.count))
    return table


def write_report(scores: Scores, path: Path, extra: Mapping[str, object] | None = None) -> None:
    """Write the scores as JSON (fractions, not percentages), atomically.

    ``extra`` (run name, checkpoint, dataset...) is merged at the top level; a key that would hide a
    metric raises ``ValueError``, and a value JSON cannot hold raises ``TypeError`` before anything is
    written.
    """
    data = scores.to_dict()
    if extra:
        clashes = sorted(data.keys() & extra.keys())
        if clashes:
            raise ValueError(f"extra keys {clashes} would overwrite metrics of the same name")
        data.update(extra)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_text_atomic(Path(path), text)


def conll_token(token: str) -> str:
    """A token as one whitespace-free field: each whitespace character becomes ``_`` (an empty token
    becomes ``_``), since ``conlleval`` and :func:`read_predictions` split lines on whitespace.

    >>> conll_token("new york"), conll_token("tab\\there"), conll_token("")
    ('new_york', 'tab_here', '_')
    """
    return "".join("_" if char.isspace() else char for char in token) or "_"


def _check_tag(tag: str, where: str) -> None:
    split_tag(tag)  # raises ValueError for anything that is not O, B-x or I-x
    if any(char.isspace() for char in tag):
        raise ValueError(f"{where}: tag {tag!r} contains whitespace and cannot be written as one field")


def write_predictions(
    path: Path,
    tokens: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
) -> None:
    """Write ``token gold predicted`` lines, a blank line after each utterance: ``conlleval``'s input.

    Whitespace inside a token is replaced by ``_`` (see :func:`conll_token`) so that a token stays one
    field; tags are written as they are and must be valid BIO tags. Two limits of the format, shared with
    ``conlleval``: an utterance without tokens leaves nothing to read back, and a token spelled ``-X-`` is
    read as a sentence break.
    """
    if not len(tokens) == len(gold) == len(predicted):
        raise ValueError(
            f"{len(tokens)} token sequences, {len(gold)} gold and {len(predicted)} predicted tag sequences"
        )
    lines: list[str] = []
    for index, (words, gold_tags, predicted_tags) in enumerate(zip(tokens, gold, predicted, strict=True)):
        if not len(words) == len(gold_tags) == len(predicted_tags):
            raise ValueError(
                f"utterance {index}: {len(words)} tokens, {len(gold_tags)} gold tags "
                f"and {len(predicted_tags)} predicted tags"
            )
        for word, gold_tag, predicted_tag in zip(words, gold_tags, predicted_tags, strict=True):
            _check_tag(gold_tag, f"utterance {index} (gold)")
            _check_tag(predicted_tag, f"utterance {index} (predicted)")
            lines.append(f"{conll_token(word)} {gold_tag} {predicted_tag}\n")
        lines.append("\n")
    write_text_atomic(Path(path), "".join(lines))


class Predictions(NamedTuple):
    """The three columns of a ``conlleval`` file, one list per utterance."""

    tokens: list[list[str]]
    gold: list[list[str]]
    predicted: list[list[str]]


def read_predictions(path: Path) -> Predictions:
    """Read a ``conlleval`` file back, e.g. to re-score it with :func:`training.metrics.score`.

    Utterances end at blank lines or at ``-X-`` lines, as in ``conlleval``. Each other line holds the
    token first and the gold and predicted tags last (extra feature columns in between are ignored).
    Errors are ``DataError`` located as ``file:line``.
    """
    utterances: list[list[tuple[str, str, str]]] = [[]]
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            fields = line.split()
            if not fields or fields[0] == CONLLEVAL_BOUNDARY:
                if utterances[-1]:
                    utterances.append([])
                continue
            if len(fields) < 3:
                raise DataError(path, number, f"expected 'token gold predicted', got {line.rstrip()!r}")
            for tag in fields[-2:]:
                try:
                    split_tag(tag)
                except ValueError as error:
                    raise DataError(path, number, str(error)) from error
            utterances[-1].append((fields[0], fields[-2], fields[-1]))
    rows = [utterance for utterance in utterances if utterance]
    return Predictions(
        tokens=[[token for token, _, _ in utterance] for utterance in rows],
        gold=[[gold for _, gold, _ in utterance] for utterance in rows],
        predicted=[[predicted for _, _, predicted in utterance] for utterance in rows],
    )
