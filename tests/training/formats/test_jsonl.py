"""JSON Lines: offsets to BIO and back, retokenisation, and every bad-record error with its line."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest

from slotfill.model.prediction import IntentValue, Parse, SlotValue
from slotfill.model.tokenize import tokenize
from slotfill.training.data import DataError, Example
from slotfill.training.formats import jsonl

SPEC_LINE = (
    '{"text": "arrive Taipei on November 2nd", "slots": [{"slot": "dest", "start": 7, "end": 13, '
    '"value": "Taipei"}], "intent": "flight"}'
)


def _file(root: Path, content: str | bytes) -> Path:
    path = root / "train.jsonl"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _record(text: str, *slots: tuple[str, int, int], **extra: object) -> str:
    record = {"text": text, "slots": [{"slot": s, "start": a, "end": b} for s, a, b in slots], **extra}
    return json.dumps(record, ensure_ascii=False)


def test_reads_the_documented_example(tmp_path: Path) -> None:
    [example] = jsonl.read_file(_file(tmp_path, SPEC_LINE + "\n"))
    assert example == Example(
        tokens=("arrive", "Taipei", "on", "November", "2nd"),
        tags=("O", "B-dest", "O", "O", "O"),
        intent="flight",
        text="arrive Taipei on November 2nd",
        offsets=((0, 6), (7, 13), (14, 16), (17, 25), (26, 29)),
    )


def test_multi_token_slots_punctuation_and_unordered_slots(tmp_path: Path) -> None:
    text = "Leave São Paulo on Nov. 2nd, please!"
    line = _record(text, ("time", 19, 27), ("departure", 6, 15))
    [example] = jsonl.read_file(_file(tmp_path, line))
    assert example.tokens == ("Leave", "São", "Paulo", "on", "Nov", ".", "2nd", ",", "please", "!")
    assert example.tags == (
        "O",
        "B-departure",
        "I-departure",
        "O",
        "B-time",
        "I-time",
        "I-time",
        "O",
        "O",
        "O",
    )
    assert example.intent is None


def test_round_trip_keeps_text_and_offsets(tmp_path: Path) -> None:
    lines = [SPEC_LINE, _record("  two  spaces, São!", ("x", 7, 13), intent="f")]
    examples = jsonl.read_file(_file(tmp_path, "\n".join(lines)))
    out = tmp_path / "out"
    path = jsonl.write(examples, out, "train")
    assert path == out / "train.jsonl"
    assert jsonl.read(out, "train") == examples
    assert json.loads(path.read_text().splitlines()[0]) == json.loads(SPEC_LINE)


def test_writer_joins_tokens_when_there_is_no_text(tmp_path: Path) -> None:
    example = Example(
        ("to", "new", "york", "on", "june", "2nd"), ("O", "B-dest", "I-dest", "O", "B-t", "I-t")
    )
    path = jsonl.write([example], tmp_path, "dev")
    assert json.loads(path.read_text()) == {
        "text": "to new york on june 2nd",
        "slots": [
            {"slot": "dest", "start": 3, "end": 11, "value": "new york"},
            {"slot": "t", "start": 15, "end": 23, "value": "june 2nd"},
        ],
    }
    [back] = jsonl.read(tmp_path, "dev")
    assert (back.tokens, back.tags, back.intent) == (example.tokens, example.tags, None)


def test_writer_aligns_tokens_in_text_without_offsets(tmp_path: Path) -> None:
    example = Example(("hi", "bob"), ("O", "B-name"), text="hi,  bob")
    path = jsonl.write([example], tmp_path, "train")
    assert json.loads(path.read_text())["slots"] == [{"slot": "name", "start": 5, "end": 8, "value": "bob"}]


def test_writer_warns_when_tokens_will_change(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    example = Example(("on", "nov.", "2nd"), ("O", "B-time", "I-time"))
    with caplog.at_level(logging.WARNING):
        jsonl.write([example], tmp_path, "train")
    assert "1 of 1 utterances will read back with different tokens" in caplog.text
    [back] = jsonl.read(tmp_path, "train")
    assert back.tokens == ("on", "nov", ".", "2nd")
    assert back.tags == ("O", "B-time", "I-time", "I-time")


def test_writer_refuses_inconsistent_offsets(tmp_path: Path) -> None:
    example = Example(("hi",), ("O",), text="hi", offsets=((0, 1),))
    with pytest.raises(ValueError, match=r"example 1: offsets \[0:1\] do not hold token 'hi'"):
        jsonl.write([example], tmp_path, "train")


def test_a_slot_inside_a_tokenizer_token_is_written_and_reads_back_as_annotated(tmp_path: Path) -> None:
    # The tokens came from elsewhere: "a-b" is one token for the tokenizer, and "b" is a slot.
    example = Example(("a", "b"), ("O", "B-x"), text="a-b", offsets=((0, 1), (2, 3)))
    jsonl.write([example], tmp_path, "train")
    (back,) = jsonl.read(tmp_path, "train")
    assert back.tokens == ("a-", "b") and back.tags == ("O", "B-x")


@pytest.mark.parametrize(
    ("text", "slot", "tokens", "tags", "cut"),
    [
        # A sentence's period typed without a space: the tokenizer itself splits these now.
        ("leave this month.American is fine", ("time", 6, 16), ("leave", "this", "month", ".", "American"),
         ("O", "B-time", "I-time", "O", "O"), False),
        ("I fly to Atlanta.I have a bag", ("dest", 9, 16), ("I", "fly", "to", "Atlanta", ".", "I"),
         ("O", "O", "O", "B-dest", "O", "O"), False),
        # Anything else the annotation cuts, the reader cuts: the annotation is the truth.
        ("fly SFO-bound", ("dest", 4, 7), ("fly", "SFO", "-bound"), ("O", "B-dest", "O"), True),
        ("arrive Taipei", ("dest", 8, 13), ("arrive", "T", "aipei"), ("O", "O", "B-dest"), True),
    ],
)  # fmt: skip
def test_a_slot_edge_inside_a_word_cuts_the_word_there(
    text: str, slot: tuple[str, int, int], tokens: tuple[str, ...], tags: tuple[str, ...], cut: bool,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    path = _file(tmp_path, _record(text, slot) + "\n")
    with caplog.at_level(logging.INFO, logger="slotfill.training.formats.jsonl"):
        (example,) = jsonl.read_file(path)
    assert example.tokens[: len(tokens)] == tokens and example.tags[: len(tags)] == tags
    assert "".join(text[a:b] for a, b in example.offsets or ()) == text.replace(" ", "")
    logged = "1 utterances have a slot that starts or ends inside a word; the word was cut there (lines 1)"
    assert (logged in caplog.text) == cut


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    path = _file(tmp_path, "\ufeff\r\n" + SPEC_LINE + "\r\n\r\n   \r\n{bad\r\n")
    with pytest.raises(DataError) as info:
        jsonl.read_file(path)
    assert info.value.line == 5
    path = _file(tmp_path, "\n" + SPEC_LINE + "\n\n" + SPEC_LINE + "\n\n")
    assert len(jsonl.read_file(path)) == 2


TEXT = "arrive Taipei on November 2nd"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"text": "a", "slots": []', "invalid JSON: Expecting ',' delimiter at column 26"),
        ("not json", "invalid JSON: Expecting value at column 1"),
        ('["a"]', "expected a JSON object, got array"),
        ('"a"', "expected a JSON object, got string"),
        ('{"slots": []}', "missing field(s) 'text'"),
        ('{"text": "a"}', "missing field(s) 'slots'"),
        ('{"text": "a", "slots": [], "intnet": "x"}', "unknown field(s) 'intnet'"),
        ('{"text": "a", "text": "b", "slots": []}', "duplicate field 'text'"),
        ('{"text": 3, "slots": []}', "'text' must be a string, got number"),
        ('{"text": "", "slots": []}', "'text' is empty or whitespace-only"),
        ('{"text": " \\t ", "slots": []}', "'text' is empty or whitespace-only"),
        ('{"text": "caf\\udce9", "slots": []}', "'text' holds a lone surrogate at index 3"),
        ('{"text": "a", "slots": {}}', "'slots' must be an array (use [] for none), got object"),
        ('{"text": "a", "slots": [], "intent": 3}', "'intent' must be a non-empty one-line string"),
        ('{"text": "a", "slots": [], "intent": ""}', "'intent' must be a non-empty one-line string"),
        ('{"text": "a", "slots": ["dest"]}', "slots[0]: expected an object, got string"),
        ('{"text": "a", "slots": [{"slot": "x", "start": 0}]}', "slots[0]: missing field(s) 'end'"),
        (
            '{"text": "a", "slots": [{"slot": "x", "start": 0, "end": 1, "score": 1}]}',
            "slots[0]: unknown field(s) 'score'",
        ),
        (
            '{"text": "a", "slots": [{"slot": "x", "start": 0, "end": 1, "confidence": null}]}',
            "slots[0]: 'confidence' must be a number, got null",
        ),
        ('{"text": "a", "slots": [{"slot": "", "start": 0, "end": 1}]}', "'slot' must be a non-empty string"),
        ('{"text": "a", "slots": [{"slot": "a b", "start": 0, "end": 1}]}', "without whitespace"),
        (
            '{"text": "a", "slots": [{"slot": "x", "start": "0", "end": 1}]}',
            "'start' must be an integer, got string",
        ),
        (
            '{"text": "a", "slots": [{"slot": "x", "start": 0, "end": 1.0}]}',
            "'end' must be an integer, got number",
        ),
        (
            '{"text": "a", "slots": [{"slot": "x", "start": false, "end": 1}]}',
            "'start' must be an integer, got boolean",
        ),
        (_record(TEXT, ("dest", 7, 40)), "out of range: need 0 <= start < end <= 29"),
        (_record(TEXT, ("dest", -1, 6)), "out of range"),
        (_record(TEXT, ("dest", 7, 7)), "out of range"),
        (
            _record(TEXT, ("dest", 7, 13)).replace('"end": 13', '"end": 13, "value": "Taipai"'),
            "value 'Taipai' does not match text[7:13] = 'Taipei'",
        ),
        (_record(TEXT, ("dest", 6, 13)), "does not start on a token boundary: offset 6 is at ' '"),
        (_record(TEXT, ("dest", 7, 14)), "does not end on a token boundary: offset 13 is at ' '"),
        (
            _record(TEXT, ("dest", 7, 16), ("x", 14, 16)),
            "slots[1] ('x' [14:16]) overlaps slots[0] ('dest' [7:16])",
        ),
        (_record(TEXT, ("a", 0, 6), ("b", 0, 6)), "slots[1] ('b' [0:6]) overlaps slots[0] ('a' [0:6])"),
    ],
)
def test_bad_record(tmp_path: Path, line: str, reason: str) -> None:
    path = _file(tmp_path, SPEC_LINE.replace(', "intent": "flight"', "") + "\n\n" + line + "\n")
    with pytest.raises(DataError) as info:
        jsonl.read_file(path)
    assert info.value.path == path
    assert info.value.line == 3
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{path}:3: ")


def test_reads_predictor_output_back(tmp_path: Path) -> None:
    text = "arrive Taipei on November 2nd"
    parse = Parse(
        text=text,
        tokens=tokenize(text),
        tags=["O", "B-dest", "O", "O", "O"],
        slots=[SlotValue("dest", "Taipei", 7, 13, 0.97)],
        intent=IntentValue("flight", 0.9),
    )
    line = json.dumps(dataclasses.asdict(parse))
    [example] = jsonl.read_file(_file(tmp_path, line))
    assert example == jsonl.read_file(_file(tmp_path, SPEC_LINE))[0]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            {"tags": ["O", "O", "O", "O", "O"]},
            "'tags' disagree with 'slots' at token 2 ('Taipei'): 'O' in 'tags'",
        ),
        ({"tags": ["O"]}, "'tags' must be an array of 5 tags (one per token), got an array of 1"),
        ({"tags": "O"}, "'tags' must be an array of 5 tags (one per token), got string"),
        ({"intent": {"confidence": 0.5}}, "intent: missing field(s) 'intent'"),
        ({"intent": {"intent": "x", "confidence": "high"}}, "intent: 'confidence' must be a number"),
    ],
)
def test_bad_predictor_fields(tmp_path: Path, extra: dict[str, object], reason: str) -> None:
    record = {**json.loads(SPEC_LINE), **extra}
    with pytest.raises(DataError) as info:
        jsonl.read_file(_file(tmp_path, json.dumps(record)))
    assert info.value.line == 1
    assert reason in info.value.reason


def test_mixed_intents(tmp_path: Path) -> None:
    path = _file(tmp_path, SPEC_LINE + "\n" + _record("hello") + "\n")
    with pytest.raises(DataError, match="record has no 'intent' but the one on line 1 has one") as info:
        jsonl.read_file(path)
    assert info.value.line == 2


def test_null_intent_means_none(tmp_path: Path) -> None:
    [example] = jsonl.read_file(_file(tmp_path, _record("hello", intent=None)))
    assert example.intent is None


@pytest.mark.parametrize("content", [b"", b"\n \n", b"\xef\xbb\xbf"])
def test_no_utterances(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(DataError, match="no utterances") as info:
        jsonl.read_file(_file(tmp_path, content))
    assert info.value.line is None


def test_bad_encoding(tmp_path: Path) -> None:
    path = _file(tmp_path, SPEC_LINE.encode() + b"\n" + '{"text": "caf\xe9"}'.encode("latin-1") + b"\n")
    with pytest.raises(DataError, match="not valid UTF-8: byte 0xe9 at byte 14 of the line") as info:
        jsonl.read_file(path)
    assert info.value.line == 2
