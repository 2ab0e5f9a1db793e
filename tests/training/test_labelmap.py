"""LabelMap: ATIS-style collapsing, rule order, dropping, merging, and the JSON file's errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slotfill.model.spans import is_well_formed, tags_to_spans
from slotfill.training.data import DataError, Example
from slotfill.training.formats import read_split
from slotfill.training.labelmap import LabelMap

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"

ATIS_RULES: dict[str, str | None] = {
    "fromloc.*": "departure",
    "toloc.*": "dest",
    "*date*": "time",
    "*time*": "time",
    "*day*": "time",
    "*month*": "time",
    "*": "O",
}
ATIS = LabelMap(ATIS_RULES, merge_adjacent=["time"])


def _ex(sentence: str, tags: str, intent: str | None = "atis_flight") -> Example:
    return Example(tuple(sentence.split()), tuple(tags.split()), intent)


@pytest.mark.parametrize(
    ("sentence", "tags", "expected"),
    [
        (
            "show me the flights arriving on baltimore on june fourteenth",
            "O O O O O O B-toloc.city_name O B-arrive_date.month_name B-arrive_date.day_number",
            "O O O O O O B-dest O B-time I-time",
        ),
        (
            "i want to fly from baltimore to dallas round trip",
            "O O O O O B-fromloc.city_name O B-toloc.city_name B-round_trip I-round_trip",
            "O O O O O B-departure O B-dest O O",
        ),
        (
            "from new york to st. louis next monday morning",
            "O B-fromloc.city_name I-fromloc.city_name O B-toloc.city_name I-toloc.city_name "
            "B-depart_date.date_relative B-depart_date.day_name B-depart_time.period_of_day",
            "O B-departure I-departure O B-dest I-dest B-time I-time I-time",
        ),
        (
            # dest is not in merge_adjacent: touching dest spans stay two spans.
            "to boston massachusetts on monday at 5 pm",
            "O B-toloc.city_name B-toloc.state_name O B-depart_date.day_name "
            "O B-depart_time.time I-depart_time.time",
            "O B-dest B-dest O B-time O B-time I-time",
        ),
        (
            "american flights to denver",
            "B-airline_name O O B-toloc.city_name",
            "O O O B-dest",
        ),
    ],
)
def test_atis_collapse(sentence: str, tags: str, expected: str) -> None:
    example = _ex(sentence, tags)
    mapped = ATIS.apply(example)
    assert mapped.tags == tuple(expected.split())
    assert (mapped.tokens, mapped.intent) == (example.tokens, example.intent)


def test_first_matching_rule_wins_and_unmatched_types_are_kept() -> None:
    label_map = LabelMap({"toloc.city_name": "city", "toloc.*": "dest", "*city*": "other"})
    example = _ex("a b c d", "B-toloc.city_name B-toloc.state_code B-fromloc.city_name B-airline_code")
    assert label_map.apply(example).tags == ("B-city", "B-dest", "B-other", "B-airline_code")
    assert label_map.map_type("TOLOC.CITY_NAME") == "TOLOC.CITY_NAME"  # case-sensitive on every OS


def test_null_and_o_drop_and_rules_accept_pairs() -> None:
    label_map = LabelMap([("cost*", None), ("round_trip", "O")])
    assert label_map.apply(_ex("a b c", "B-cost_relative B-round_trip I-round_trip")).tags == ("O", "O", "O")


def test_merging_needs_touching_spans_of_the_same_type() -> None:
    label_map = LabelMap({"a": "x", "b": "x", "c": "y"}, merge_adjacent=["x", "y"])
    tags = "B-a I-a B-b O B-b B-c B-a"
    assert label_map.apply(_ex("1 2 3 4 5 6 7", tags)).tags == ("B-x", "I-x", "I-x", "O", "B-x", "B-y", "B-x")


def test_keeps_text_and_offsets() -> None:
    example = Example(("to", "boston"), ("O", "B-toloc.city_name"), None, "to boston", ((0, 2), (3, 9)))
    assert ATIS.apply(example) == Example(
        ("to", "boston"), ("O", "B-dest"), None, "to boston", ((0, 2), (3, 9))
    )


def test_apply_all() -> None:
    examples = [_ex("to boston", "O B-toloc.city_name"), _ex("on monday", "O B-depart_date.day_name")]
    assert [ex.tags for ex in ATIS.apply_all(examples)] == [("O", "B-dest"), ("O", "B-time")]


@pytest.mark.parametrize(
    ("rules", "merge", "message"),
    [
        ({"": "x"}, (), "rule pattern must be a non-empty string"),
        ({"a": "new york"}, (), "rule 'a': target must be a slot type"),
        ({"a": ""}, (), "rule 'a': target must be a slot type"),
        ({"a": "x"}, ("O",), "merge_adjacent entries must be slot types"),
    ],
)
def test_constructor_validates(rules: dict[str, str | None], merge: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LabelMap(rules, merge)


def test_from_file_flat_and_structured(tmp_path: Path) -> None:
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps(ATIS_RULES), encoding="utf-8")
    structured = tmp_path / "structured.json"
    structured.write_text(
        "\ufeff" + json.dumps({"rules": ATIS_RULES, "merge_adjacent": ["time"]}), encoding="utf-8"
    )
    example = _ex("on june fourteenth", "O B-arrive_date.month_name B-arrive_date.day_number")
    assert LabelMap.from_file(flat).apply(example).tags == ("O", "B-time", "B-time")
    loaded = LabelMap.from_file(structured)
    assert loaded.rules == tuple((k, None if v == "O" else v) for k, v in ATIS_RULES.items())
    assert loaded.apply(example).tags == ("O", "B-time", "I-time")


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('{"a": "x",\n "b": }', 2, "invalid JSON: Expecting value at column 7"),
        ('["a"]', None, "expected a JSON object of rules, got array"),
        ('{"a": 3}', None, "rule 'a': target must be a slot type, 'O' or null, got number"),
        ('{"a": {"b": "c"}}', None, "rule 'a': target must be a slot type, 'O' or null, got object"),
        ('{"a": "x", "a": "y"}', None, "duplicate key 'a'"),
        ('{"rules": {"a": "x"}, "merge": ["x"]}', None, "unknown field(s) ['merge']"),
        (
            '{"rules": {"a": "x"}, "merge_adjacent": "x"}',
            None,
            "'merge_adjacent' must be an array of slot types",
        ),
        (
            '{"rules": {"a": "x"}, "merge_adjacent": [1]}',
            None,
            "'merge_adjacent' must be an array of slot types",
        ),
        ('{"a": "x", "merge_adjacent": ["x"]}', None, "'merge_adjacent' needs the rules under 'rules'"),
    ],
)
def test_from_file_errors_name_the_file(tmp_path: Path, content: str, line: int | None, message: str) -> None:
    path = tmp_path / "map.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        LabelMap.from_file(path)
    assert info.value.path == path
    assert info.value.line == line
    assert message in info.value.reason
    assert str(info.value).startswith(str(path))


def test_from_file_missing_or_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read label map"):
        LabelMap.from_file(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"\xff": "x"}')
    with pytest.raises(DataError, match="cannot read label map"):
        LabelMap.from_file(bad)


def test_real_atis_collapses_to_three_well_formed_types() -> None:
    directory = DATASETS / "atis"
    if not directory.is_dir():
        pytest.skip(f"{directory} not present")
    mapped = ATIS.apply_all(read_split(directory, "test"))
    assert all(is_well_formed(ex.tags) for ex in mapped)
    assert {span.label for ex in mapped for span in tags_to_spans(ex.tags)} == {"departure", "dest", "time"}
