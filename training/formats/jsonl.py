"""JSON Lines: ``DIR/<split>.jsonl``, raw text plus character-offset slots, one object per line.

``{"text": "arrive Taipei on November 2nd", "slots": [{"slot": "dest", "start": 7, "end": 13,
"value": "Taipei"}], "intent": "flight"}``: the shape the service's API returns, so predictions can
be corrected by hand and fed back as training data. ``start``/``end`` are Python string indices
into ``text`` (end exclusive); ``value`` and ``intent`` are optional. The predictor's extra fields
are accepted, so its output reads back as is: ``tokens`` (ignored), ``tags`` (must agree with the
slots), ``confidence`` on slots and an intent object ``{"intent": ..., "confidence": ...}``. Any
other field is an error, so a misspelt key is caught instead of ignored. The text goes through
:func:`model.tokenize.tokenize`, the very tokenizer the service uses, and every slot must start and
end on one of its token boundaries, so the tags a model is trained on are the tags it will be
asked to predict. ``"slots": []`` marks an utterance without slots; the field is required so that a
misspelt key cannot silently drop every slot. Blank lines are skipped.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from slotfill.model.spans import Span, spans_to_tags, tags_to_spans
from slotfill.model.tokenize import Token, lone_surrogate, tokenize
from slotfill.training.data import DataError, Example
from slotfill.training.formats._io import (
    check_split_name,
    file_split_path,
    find_file_splits,
    read_lines,
    write_text,
)
from slotfill.training.formats._validate import check_intent, check_token, check_writable
from slotfill.training.formats.bio import check_policy

logger = logging.getLogger(__name__)

SUFFIX = ".jsonl"
# "tokens", "tags" and "confidence" are what the predictor adds (model.prediction.Parse), so its
# output can be corrected by hand and read back; "slots" stays the one source of the tags.
_RECORD_FIELDS = frozenset({"text", "slots", "intent", "tokens", "tags"})
_SLOT_FIELDS = frozenset({"slot", "start", "end", "value", "confidence"})
_INTENT_FIELDS = frozenset({"intent", "confidence"})


class _RecordError(ValueError):
    """What is wrong with one record; the reader adds the file and line."""


def split_path(directory: Path, split: str) -> Path:
    """``DIR/<split>{SUFFIX}``."""
    return file_split_path(directory, split, SUFFIX)


def find_splits(directory: Path) -> dict[str, Path]:
    """Split name -> file, for every ``*{SUFFIX}`` file in ``directory``."""
    return find_file_splits(directory, SUFFIX)


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages the data's author understands."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj: dict[str, object] = {}
    for key, value in pairs:
        if key in obj:
            raise _RecordError(f"duplicate field {key!r}")
        obj[key] = value
    return obj


def _check_fields(obj: dict[str, object], where: str, required: set[str], allowed: frozenset[str]) -> None:
    missing = sorted(required - obj.keys())
    if missing:
        raise _RecordError(f"{where}missing field(s) {', '.join(map(repr, missing))}")
    unknown = sorted(obj.keys() - allowed)
    if unknown:
        raise _RecordError(
            f"{where}unknown field(s) {', '.join(map(repr, unknown))} (allowed: {', '.join(sorted(allowed))})"
        )


def _offset(slot: dict[str, object], key: str, where: str) -> int:
    value = slot[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _RecordError(f"{where}{key!r} must be an integer, got {_json_type(value)} {value!r}")
    return value


def _boundary_problem(tokens: Sequence[Token], offset: int, text: str) -> str:
    for token in tokens:
        if token.start < offset < token.end:
            return f"offset {offset} is inside token {token.text!r} [{token.start}:{token.end}]"
    return f"offset {offset} is at {text[offset : offset + 1]!r}, not at a token edge"


class _Slot(NamedTuple):
    """A parsed slot: its token span, plus character offsets and position for overlap messages."""

    span: Span
    start: int
    end: int
    position: int

    def describe(self) -> str:
        return f"slots[{self.position}] ({self.span.label!r} [{self.start}:{self.end}])"


def _parse_slot(raw: object, index: int, text: str, tokens: Sequence[Token]) -> _Slot:
    """One slot object, checked against the text and its tokens."""
    where = f"slots[{index}]: "
    if not isinstance(raw, dict):
        raise _RecordError(f"{where}expected an object, got {_json_type(raw)}")
    _check_fields(raw, where, {"slot", "start", "end"}, _SLOT_FIELDS)
    _confidence(raw, where)
    label = raw["slot"]
    if not isinstance(label, str) or not check_token(label):
        raise _RecordError(f"{where}'slot' must be a non-empty string without whitespace, got {label!r}")
    start, end = _offset(raw, "start", where), _offset(raw, "end", where)
    where = f"slots[{index}] ({label!r} [{start}:{end}]): "
    if not 0 <= start < end <= len(text):
        raise _RecordError(f"{where}out of range: need 0 <= start < end <= {len(text)} (the length of text)")
    if "value" in raw and raw["value"] != text[start:end]:
        raise _RecordError(
            f"{where}value {raw['value']!r} does not match text[{start}:{end}] = {text[start:end]!r}"
        )
    starts = {token.start: i for i, token in enumerate(tokens)}
    ends = {token.end: i for i, token in enumerate(tokens)}
    if start not in starts:  # tokens were cut at every slot edge inside one: this edge is whitespace
        problem = _boundary_problem(tokens, start, text)
        raise _RecordError(f"{where}does not start on a token boundary: {problem}")
    if end not in ends:
        problem = _boundary_problem(tokens, end - 1, text) if text[end - 1].isspace() else ""
        problem = problem or _boundary_problem(tokens, end, text)
        raise _RecordError(f"{where}does not end on a token boundary: {problem}")
    return _Slot(Span(label, starts[start], ends[end] + 1), start, end, index)


def _confidence(raw: dict[str, object], where: str) -> None:
    value = raw.get("confidence", 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _RecordError(f"{where}'confidence' must be a number, got {_json_type(value)}")


def _parse_intent(raw: object) -> str | None:
    """A string, ``null``, or the predictor's ``{"intent": ..., "confidence": ...}``."""
    intent = raw
    if isinstance(raw, dict):
        _check_fields(raw, "intent: ", {"intent"}, _INTENT_FIELDS)
        _confidence(raw, "intent: ")
        intent = raw["intent"]
    if intent is not None and (not isinstance(intent, str) or not check_intent(intent)):
        raise _RecordError(
            f"'intent' must be a non-empty one-line string without outer blanks, got {intent!r}"
        )
    return intent


def _check_tags_field(raw: object, tags: Sequence[str], tokens: Sequence[Token]) -> None:
    """Predictor output also carries ``tags``: refuse a record whose tags and slots disagree.

    Only ``slots`` is read, so a correction made to ``tags`` alone would otherwise be lost silently.
    """
    if not isinstance(raw, list) or len(raw) != len(tags):
        size = f"an array of {len(raw)}" if isinstance(raw, list) else _json_type(raw)
        raise _RecordError(f"'tags' must be an array of {len(tags)} tags (one per token), got {size}")
    for index, (given, derived) in enumerate(zip(raw, tags, strict=True)):
        if given != derived:
            raise _RecordError(
                f"'tags' disagree with 'slots' at token {index + 1} ({tokens[index].text!r}): {given!r} in "
                f"'tags' but {derived!r} from 'slots' (only 'slots' is read: correct it, or drop 'tags')"
            )


def _annotated_offsets(raw_slots: list[object], text: str) -> set[int]:
    """Where the slots start and end, for those whose offsets are plain integers inside the text
    (the others are refused with their reason when each slot is parsed)."""
    offsets: set[int] = set()
    for raw in raw_slots:
        if isinstance(raw, dict):
            for key in ("start", "end"):
                value = raw.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and 0 < value < len(text):
                    offsets.add(value)
    return offsets


def split_at(tokens: Sequence[Token], offsets: set[int]) -> list[Token]:
    """``tokens`` with every token that an offset falls strictly inside cut there.

    The annotation is the truth: "Atlanta.I" typed without a space, annotated "Atlanta", becomes
    "Atlanta" + ".I" rather than a record refused for a tokenizer's guess.

    >>> [t.text for t in split_at(tokenize("fly SFO-bound"), {7})]
    ['fly', 'SFO', '-bound']
    """
    out: list[Token] = []
    for token in tokens:
        cuts = sorted(o for o in offsets if token.start < o < token.end)
        start = token.start
        for cut in [*cuts, token.end]:
            out.append(Token(token.text[start - token.start : cut - token.start], start, cut))
            start = cut
    return out


def _parse_record(line: str) -> tuple[Example, int]:
    """The record's example, and how many of its tokens an annotation cut in two."""
    try:
        obj = json.loads(line, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise _RecordError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise _RecordError("invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise _RecordError(f"expected a JSON object, got {_json_type(obj)}")
    _check_fields(obj, "", {"text", "slots"}, _RECORD_FIELDS)
    text, raw_slots, intent = obj["text"], obj["slots"], obj.get("intent")
    if not isinstance(text, str):
        raise _RecordError(f"'text' must be a string, got {_json_type(text)}")
    if not text.strip():
        raise _RecordError("'text' is empty or whitespace-only")
    surrogate = lone_surrogate(text)
    if surrogate is not None:  # the API refuses such a text too
        raise _RecordError(f"'text' holds a lone surrogate at index {surrogate}; it is not valid Unicode")
    if not isinstance(raw_slots, list):
        raise _RecordError(f"'slots' must be an array (use [] for none), got {_json_type(raw_slots)}")
    intent = _parse_intent(intent)
    tokenized = tokenize(text)
    tokens = split_at(tokenized, _annotated_offsets(raw_slots, text))
    slots = sorted(
        (_parse_slot(raw, index, text, tokens) for index, raw in enumerate(raw_slots)),
        key=lambda slot: (slot.start, slot.end),
    )
    for before, after in itertools.pairwise(slots):
        if after.start < before.end:
            raise _RecordError(f"{after.describe()} overlaps {before.describe()}")
    tags = spans_to_tags([slot.span for slot in slots], len(tokens))
    if "tags" in obj:
        _check_tags_field(obj["tags"], tags, tokens)
    example = Example(
        tokens=tuple(token.text for token in tokens),
        tags=tuple(tags),
        intent=intent,
        text=text,
        offsets=tuple((token.start, token.end) for token in tokens),
    )
    return example, len(tokens) - len(tokenized)


def read_file(path: Path, bio_policy: str = "strict") -> list[Example]:
    """Read one JSONL file; errors name the file and the 1-based line (blank lines count).

    ``bio_policy`` is checked for a valid name only: tags built from spans are always well formed.
    """
    check_policy(bio_policy)
    examples: list[Example] = []
    intent_seen: tuple[bool, int] | None = None
    split: list[int] = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            example, cuts = _parse_record(line)
        except _RecordError as exc:
            raise DataError(path, number, str(exc)) from None
        if cuts:
            split.append(number)
        has_intent = example.intent is not None
        if intent_seen is None:
            intent_seen = (has_intent, number)
        elif intent_seen[0] != has_intent:
            raise DataError(
                path,
                number,
                f"record {'has an' if has_intent else 'has no'} 'intent' but the one on line "
                f"{intent_seen[1]} {'has one' if intent_seen[0] else 'has none'}: give every record an "
                "intent or none",
            )
        examples.append(example)
    if not examples:
        raise DataError(path, None, "no utterances: the file is empty or holds only blank lines")
    if split:
        logger.info(
            "%s: %d utterances have a slot that starts or ends inside a word; the word was cut there "
            "(lines %s)",
            path,
            len(split),
            ", ".join(map(str, split[:10])) + (", ..." if len(split) > 10 else ""),
        )
    return examples


def read(directory: Path, split: str, bio_policy: str = "strict") -> list[Example]:
    """Read ``DIR/<split>.jsonl``."""
    check_split_name(split)
    return read_file(split_path(directory, split), bio_policy)


def _text_and_offsets(example: Example, number: int) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The text to write and each token's offsets in it.

    Examples read from JSONL keep their text and offsets; others get their tokens joined by single
    spaces; an example with text but no offsets has its tokens found left to right in the text.
    """
    if example.text is None:
        for token in example.tokens:
            if not check_token(token):
                raise ValueError(f"example {number}: token {token!r} is empty or contains whitespace")
        offsets: list[tuple[int, int]] = []
        cursor = 0
        for token in example.tokens:
            offsets.append((cursor, cursor + len(token)))
            cursor += len(token) + 1
        return " ".join(example.tokens), tuple(offsets)
    text = example.text
    if example.offsets is not None:
        for token, (start, end) in zip(example.tokens, example.offsets, strict=True):
            if text[start:end] != token or not token:
                raise ValueError(f"example {number}: offsets [{start}:{end}] do not hold token {token!r}")
        return text, example.offsets
    cursor = 0
    offsets = []
    for token in example.tokens:
        start = text.find(token, cursor) if token else -1
        if start < 0:
            raise ValueError(f"example {number}: token {token!r} not found in its text after offset {cursor}")
        offsets.append((start, start + len(token)))
        cursor = start + len(token)
    return text, tuple(offsets)


def to_record(example: Example, number: int = 1) -> tuple[dict[str, object], bool]:
    """The JSON object for ``example``, and whether reading it back gives the same tokens.

    A slot whose edge falls inside one of the tokenizer's tokens reads back with that token cut at
    the edge (:func:`split_at`), so the slot always reads back as written.
    """
    text, offsets = _text_and_offsets(example, number)
    slots: list[dict[str, object]] = []
    edges: set[int] = set()
    for span in tags_to_spans(example.tags):
        start, end = offsets[span.start][0], offsets[span.end - 1][1]
        slots.append({"slot": span.label, "start": start, "end": end, "value": text[start:end]})
        edges |= {start, end}
    tokens = split_at(tokenize(text), edges)
    record: dict[str, object] = {"text": text, "slots": slots}
    if example.intent is not None:
        record["intent"] = example.intent
    same = [(t.text, (t.start, t.end)) for t in tokens] == list(zip(example.tokens, offsets, strict=True))
    return record, same


def write(examples: Sequence[Example], directory: Path, split: str) -> Path:
    """Write ``DIR/<split>.jsonl``.

    Logs a warning when some utterances will read back with other tokens: the tokenizer splits
    punctuation off word edges, so the ATIS token ``st.`` comes back as ``st`` + ``.`` (the tags
    follow, as each span still covers the same characters).
    """
    check_split_name(split)
    check_writable(examples, plain_tokens=False)
    lines: list[str] = []
    changed: list[int] = []
    for number, example in enumerate(examples, start=1):
        record, same = to_record(example, number)
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        if not same:
            changed.append(number)
    path = split_path(directory, split)
    write_text(path, "".join(lines))
    if changed:
        logger.warning(
            "%s: %d of %d utterances will read back with different tokens (the tokenizer splits "
            "punctuation off word edges; first: example %d)",
            path,
            len(changed),
            len(examples),
            changed[0],
        )
    return path
