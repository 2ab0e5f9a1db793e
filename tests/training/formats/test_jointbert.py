"""JointBERT folders: round trips, the tolerances of real files, and every bad-data error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from slotfill.training.data import DataError, Example
from slotfill.training.formats import jointbert

EXAMPLES = [
    Example(("fly", "to", "new", "york"), ("O", "O", "B-dest", "I-dest"), "flight"),
    Example(("cheapest", "fare"), ("B-cost", "O"), "airfare"),
]


def _split(root: Path, seq_in: str | bytes, seq_out: str | bytes, label: str | bytes | None = None) -> Path:
    folder = root / "train"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (("seq.in", seq_in), ("seq.out", seq_out), ("label", label)):
        if content is None:
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


def _error(root: Path, bio_policy: str = "strict") -> DataError:
    with pytest.raises(DataError) as info:
        jointbert.read(root, "train", bio_policy)
    return info.value


def test_round_trip_with_intents(tmp_path: Path) -> None:
    folder = jointbert.write(EXAMPLES, tmp_path, "train")
    assert folder == tmp_path / "train"
    assert (folder / "seq.in").read_text() == "fly to new york\ncheapest fare\n"
    assert (folder / "label").read_text() == "flight\nairfare\n"
    assert jointbert.read(tmp_path, "train") == EXAMPLES


def test_round_trip_without_intents_removes_stale_label(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jointbert.write(EXAMPLES, tmp_path, "train")
    plain = [Example(ex.tokens, ex.tags) for ex in EXAMPLES]
    with caplog.at_level(logging.WARNING):
        jointbert.write(plain, tmp_path, "train")
    assert not (tmp_path / "train" / "label").exists()
    assert "stale" in caplog.text
    assert jointbert.read(tmp_path, "train") == plain


def test_tolerates_snips_spacing_bom_crlf_and_trailing_blank_lines(tmp_path: Path) -> None:
    _split(
        tmp_path,
        "\ufeff  fly  to boston\r\nhi\r\n\r\n",
        "O O B-dest \r\nO \r\n",
        "flight\r\ngreet\r\n",
    )
    assert jointbert.read(tmp_path, "train") == [
        Example(("fly", "to", "boston"), ("O", "O", "B-dest"), "flight"),
        Example(("hi",), ("O",), "greet"),
    ]


def test_reads_non_ascii_tokens(tmp_path: Path) -> None:
    _split(tmp_path, "add clásicos\n", "O B-playlist\n")
    assert jointbert.read(tmp_path, "train")[0].tokens == ("add", "clásicos")


@pytest.mark.parametrize(
    ("files", "where", "reason"),
    [
        (("a b\nc d e f\n", "O O\nO O O\n", None), ("seq.out", 2), "3 tags for 4 tokens on line 2 of seq.in"),
        (("a b\nc\n", "O O\nX-dest\n", None), ("seq.out", 2), "token 1 ('c'): 'X-dest' is not a BIO tag"),
        (("a b\n", "O B-\n", None), ("seq.out", 1), "'B-' is not a BIO tag"),
        (("a b\nc d\n", "O O\nO I-dest\n", None), ("seq.out", 2), "token 2 ('d'): stray 'I-dest' after 'O'"),
        (("a b\n", "B-time I-dest\n", None), ("seq.out", 1), "stray 'I-dest' after 'B-time'"),
        (("a\n", "I-dest\n", None), ("seq.out", 1), "stray 'I-dest' after the start of the utterance"),
        (("a\nb\nc\n", "O\nO\nO\n", "x\ny\n"), ("label", 3), "label has 2 lines but seq.in has 3"),
        (("a\nb\n", "O\nO\nO\n", None), ("seq.out", 3), "seq.out has 3 lines but seq.in has 2"),
        (("a\nb\n", "O\n", None), ("seq.out", 2), "seq.out has 1 line but seq.in has 2 lines"),
        (("", "", None), ("seq.in", None), "no utterances: the file is empty"),
        (("\n  \n", "\n\n", None), ("seq.in", None), "no utterances"),
        (("a\n \nb\n", "O\n\nO\n", None), ("seq.in", 2), "empty utterance"),
        (("a\nb\nc\n", "O\nO\nO\n", "x\n \ny\n"), ("label", 2), "empty intent"),
        (("a\n", b"O\n\xff\n", None), ("seq.out", 2), "not valid UTF-8: byte 0xff at byte 1 of the line"),
        ((b"ok\nbad \xc3(\n", "O\nO O\n", None), ("seq.in", 2), "not valid UTF-8: byte 0xc3 at byte 5"),
    ],
)
def test_bad_data(
    tmp_path: Path,
    files: tuple[str | bytes, str | bytes, str | None],
    where: tuple[str, int | None],
    reason: str,
) -> None:
    """``files`` is (seq.in, seq.out, label or None); ``where`` the file and line the error names."""
    _split(tmp_path, *files)
    file, line = where
    error = _error(tmp_path)
    assert error.path == tmp_path / "train" / file
    assert error.line == line
    assert reason in error.reason
    prefix = f"{tmp_path / 'train' / file}:{line}: " if line else f"{tmp_path / 'train' / file}: "
    assert str(error).startswith(prefix)


def test_missing_seq_out_and_seq_in(tmp_path: Path) -> None:
    _split(tmp_path, "a\n", "O\n")
    (tmp_path / "train" / "seq.out").unlink()
    error = _error(tmp_path)
    assert error.path.name == "seq.out"
    assert "file not found" in error.reason
    (tmp_path / "train" / "seq.in").unlink()
    assert _error(tmp_path).path.name == "seq.in"


def test_repair_policy_turns_stray_i_into_b_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _split(tmp_path, "a b c\nd e\n", "O I-dest I-dest\nI-x B-y\n")
    with caplog.at_level(logging.WARNING):
        examples = jointbert.read(tmp_path, "train", "repair")
    assert [ex.tags for ex in examples] == [("O", "B-dest", "I-dest"), ("B-x", "B-y")]
    assert len(caplog.records) == 1
    assert "2 stray I- tag(s)" in caplog.records[0].getMessage()
    assert "seq.out" in caplog.records[0].getMessage()


def test_repair_does_not_excuse_non_bio_tags(tmp_path: Path) -> None:
    _split(tmp_path, "a\n", "dest\n")
    assert "not a BIO tag" in _error(tmp_path, "repair").reason


def test_unknown_policy_is_a_value_error(tmp_path: Path) -> None:
    _split(tmp_path, "a\n", "O\n")
    with pytest.raises(ValueError, match="unknown bio_policy 'lenient'"):
        jointbert.read(tmp_path, "train", "lenient")


@pytest.mark.parametrize(
    ("examples", "message"),
    [
        ([], "no examples"),
        ([Example(("new york",), ("B-dest",))], "example 1: token 'new york'"),
        ([Example((), ())], "example 1 has no tokens"),
        ([Example(("a",), ("dest",))], "example 1: not a BIO tag"),
        ([Example(("a",), ("O",), "x"), Example(("b",), ("O",))], "example 2 has no intent"),
        ([Example(("a",), ("O",), "two\nlines")], "example 1: intent"),
    ],
)
def test_writer_refuses_what_it_cannot_read_back(
    tmp_path: Path, examples: list[Example], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        jointbert.write(examples, tmp_path, "train")
    assert not (tmp_path / "train").exists()
