"""CoNLL files: round trips, comments and -DOCSTART-, and every bad-data error with its line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from slotfill.training.data import DataError, Example
from slotfill.training.formats import conll

EXAMPLES = [
    Example(("fly", "to", "new", "york"), ("O", "O", "B-dest", "I-dest"), "flight"),
    Example(("#", "cheapest"), ("O", "B-cost"), "airfare"),
]


def _file(root: Path, content: str | bytes) -> Path:
    path = root / "train.conll"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _error(root: Path, content: str | bytes, bio_policy: str = "strict") -> DataError:
    path = _file(root, content)
    with pytest.raises(DataError) as info:
        conll.read_file(path, bio_policy)
    assert info.value.path == path
    return info.value


def test_round_trip_with_intents(tmp_path: Path) -> None:
    path = conll.write(EXAMPLES, tmp_path, "train")
    assert path == tmp_path / "train.conll"
    assert path.read_text() == (
        "# intent = flight\nfly O\nto O\nnew B-dest\nyork I-dest\n\n"
        "# intent = airfare\n# O\ncheapest B-cost\n"
    )
    assert conll.read(tmp_path, "train") == EXAMPLES


def test_round_trip_without_intents(tmp_path: Path) -> None:
    plain = [Example(ex.tokens, ex.tags) for ex in EXAMPLES]
    conll.write(plain, tmp_path, "train")
    assert "intent" not in (tmp_path / "train.conll").read_text()
    assert conll.read(tmp_path, "train") == plain


def test_reads_extra_columns_docstart_comments_crlf_and_bom(tmp_path: Path) -> None:
    content = (
        "\ufeff-DOCSTART- -X- O O\r\n\r\n"
        "# sent_id = 7\r\n# intent = book flight\r\n"
        "fly VB B-VP O\r\nto TO B-PP O\r\nboston NNP B-NP B-dest\r\n\r\n\r\n\r\n"
        "# intent=greet\nhi\tO\n\n"
    )
    path = _file(tmp_path, content)
    assert conll.read_file(path) == [
        Example(("fly", "to", "boston"), ("O", "O", "B-dest"), "book flight"),
        Example(("hi",), ("O",), "greet"),
    ]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ("a O\nb\n", 2, "only one field 'b': expected 'token tag'"),
        ("a O\n\nb O\nc X-dest\n", 4, "token 'c': 'X-dest' is not a BIO tag"),
        ("a O\n\nb O\nc I-dest\n", 4, "token 'c': stray 'I-dest' after 'O'"),
        ("a O\n# intent = x\n", 2, "comment '# intent = ...' inside an utterance"),
        ("# intent = x\n\na O\n", 2, "blank line after the intent comment on line 1"),
        ("# intent = x\n# intent = y\na O\n", 2, "second intent comment (the first is on line 1)"),
        ("# intent = \na O\n", 1, "empty intent"),
        ("# intent = x\na O\n\n# intent = y\n", 4, "intent comment at the end has no utterance"),
        (
            "# intent = x\na O\n\nb O\n",
            4,
            "utterance has no '# intent = ...' comment but the one on line 1 has one",
        ),
        (
            "a O\n\n# intent = x\nb O\n",
            3,
            "utterance has an '# intent = ...' comment but the one on line 1 has none",
        ),
        ("a O\n\xff O\n".encode("latin-1"), 2, "not valid UTF-8: byte 0xff at byte 1"),
    ],
)
def test_bad_data(tmp_path: Path, content: str | bytes, line: int, reason: str) -> None:
    error = _error(tmp_path, content)
    assert error.line == line
    assert reason in error.reason
    assert str(error).startswith(f"{tmp_path / 'train.conll'}:{line}: ")


@pytest.mark.parametrize("content", ["", "\n\n", "-DOCSTART- -X- O O\n\n", "# text = nothing\n"])
def test_no_utterances(tmp_path: Path, content: str) -> None:
    error = _error(tmp_path, content)
    assert error.line is None
    assert "no utterances" in error.reason


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found") as info:
        conll.read(tmp_path, "dev")
    assert info.value.path == tmp_path / "dev.conll"


def test_repair_policy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _file(tmp_path, "a I-x\nb I-x\n\nc O\nd I-y\n")
    with caplog.at_level(logging.WARNING):
        examples = conll.read_file(path, "repair")
    assert [ex.tags for ex in examples] == [("B-x", "I-x"), ("O", "B-y")]
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}: turned 2 stray I- tag(s) into B- (bio_policy='repair')"
    ]


@pytest.mark.parametrize("token", ["-DOCSTART-", "#intent=x", "#a=b"])
def test_writer_refuses_tokens_that_read_back_as_comments(tmp_path: Path, token: str) -> None:
    with pytest.raises(ValueError, match="would read back as a comment"):
        conll.write([Example((token, "b"), ("O", "O"))], tmp_path, "train")


def test_writer_refuses_tokens_with_whitespace(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="example 2: token 'a b'"):
        conll.write([Example(("a",), ("O",)), Example(("a b",), ("O",))], tmp_path, "train")
