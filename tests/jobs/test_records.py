"""Every kind of bad line gets its own error record; a good line gets the API's parse result."""

from __future__ import annotations

import json

import pytest

from slotfill.jobs.records import BadLine, Item, error_record, read_line, result_record
from slotfill.model.predictor import Predictor
from slotfill.service.schemas import ParseResult

BAD_LINES = [
    ("txt", b"", "text: empty or only whitespace"),
    ("txt", b" \t ", "text: empty or only whitespace"),
    ("txt", b"to \xff\xfe paris", "not valid UTF-8 (byte 0xff at 3)"),
    ("txt", b"x" * 1001, "text is 1001 characters, over the limit of 1000"),
    ("jsonl", b'{"text": "to paris"', "invalid JSON: Expecting ',' delimiter at column 20"),
    ("jsonl", b"[1, 2]", "a JSONL line must be an object, got an array"),
    ("jsonl", b'"to paris"', "a JSONL line must be an object, got a string"),
    ("jsonl", b'{"id": 1}', 'missing "text"'),
    ("jsonl", b'{"id": 1, "text": 5}', '"text" must be a string, got a number'),
    ("jsonl", b'{"id": 1, "text": null}', '"text" must be a string, got null'),
    ("jsonl", b'{"id": 1, "text": ["a"]}', '"text" must be a string, got an array'),
    ("jsonl", b'{"id": 1, "text": "  "}', "text: empty or only whitespace"),
    ("jsonl", b'{"text": "a \\ud800 b"}', "text: holds a lone surrogate at index 2; send valid Unicode"),
    ("jsonl", b'{"text": "\xc3"}', "not valid UTF-8 (byte 0xc3 at 10)"),
]


@pytest.mark.parametrize(("fmt", "raw", "error"), BAD_LINES)
def test_each_bad_line_says_what_is_wrong(fmt: str, raw: bytes, error: str) -> None:
    bad = read_line(7, raw, fmt, 1000)  # type: ignore[arg-type]
    assert isinstance(bad, BadLine)
    assert (bad.line, bad.error) == (7, error)
    record = json.loads(error_record(bad))
    assert record["line"] == 7 and record["error"] == error
    assert record.get("id") == (1 if b'"id": 1' in raw else None)


def test_the_length_limit_counts_code_points_not_bytes() -> None:
    assert isinstance(read_line(1, "é".encode() * 10, "txt", 10), Item)
    assert isinstance(read_line(1, "é".encode() * 11, "txt", 10), BadLine)


def test_a_record_is_the_services_parse_result_after_the_carried_fields(tiny_predictor: Predictor) -> None:
    item = read_line(1, b'{"id": "a1", "text": "arrive paris on monday", "meta": {"k": [1]}}', "jsonl", 1000)
    assert isinstance(item, Item)
    parse = tiny_predictor.parse(item.text)
    record = json.loads(result_record(parse, item.carried))
    assert list(record)[:2] == ["id", "meta"]
    assert record["id"] == "a1" and record["meta"] == {"k": [1]}
    expected = ParseResult.of(parse).model_dump(mode="json")
    assert {key: record[key] for key in expected} == expected
    ParseResult.model_validate({key: record[key] for key in ParseResult.model_fields})


def test_a_record_without_carried_fields_is_the_parse_results_json_byte_for_byte(
    tiny_predictor: Predictor,
) -> None:
    texts = [
        "arrive paris on monday",
        "  Leave Boston, on  Friday!",
        "x",
        "fly from São Paulo to 東京 \U0001f6eb",
    ]
    for parse in tiny_predictor.parse_batch(texts):
        assert result_record(parse, {}) == ParseResult.of(parse).model_dump_json()


def test_an_input_field_named_like_a_result_field_gives_way(tiny_predictor: Predictor) -> None:
    item = read_line(1, b'{"text": "arrive paris", "tags": "gold", "slots": 3, "n": 1}', "jsonl", 1000)
    assert isinstance(item, Item)
    record = json.loads(result_record(tiny_predictor.parse(item.text), item.carried))
    assert record["n"] == 1
    assert isinstance(record["tags"], list) and isinstance(record["slots"], list)
