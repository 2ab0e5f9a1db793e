"""The facade: format detection, split listing, read/write dispatch, cross-format and real data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from slotfill.training.data import DataError, Example
from slotfill.training.formats import FORMATS, available_splits, detect_format, read_split, write_split

DATASETS = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets"

EXAMPLES = [
    Example(("fly", "to", "new", "york", "tomorrow"), ("O", "O", "B-dest", "I-dest", "B-time"), "flight"),
    Example(("cheapest", "fare", "please"), ("B-cost", "O", "O"), "airfare"),
    Example(("#", "hi"), ("O", "O"), "greet"),
]


def test_formats() -> None:
    assert FORMATS == ("jointbert", "conll", "jsonl")


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_detect_list_read(tmp_path: Path, fmt: str) -> None:
    for split in ("test", "train", "extra", "dev"):
        write_split(EXAMPLES, tmp_path, split, fmt)
    assert detect_format(tmp_path) == fmt
    assert available_splits(tmp_path, fmt) == ["train", "dev", "test", "extra"]
    back = read_split(tmp_path, "dev")
    assert [(ex.tokens, ex.tags, ex.intent) for ex in back] == [
        (ex.tokens, ex.tags, ex.intent) for ex in EXAMPLES
    ]


def test_write_split_returns_what_it_wrote(tmp_path: Path) -> None:
    assert write_split(EXAMPLES, tmp_path, "train", "jointbert") == tmp_path / "train"
    assert write_split(EXAMPLES, tmp_path, "train", "conll") == tmp_path / "train.conll"
    assert write_split(EXAMPLES, tmp_path, "train", "jsonl") == tmp_path / "train.jsonl"


def test_cross_format_round_trip(tmp_path: Path) -> None:
    write_split(EXAMPLES, tmp_path / "a", "train", "jointbert")
    write_split(read_split(tmp_path / "a", "train"), tmp_path / "b", "train", "conll")
    write_split(read_split(tmp_path / "b", "train"), tmp_path / "c", "train", "jsonl")
    write_split(read_split(tmp_path / "c", "train"), tmp_path / "d", "train", "jointbert")
    assert read_split(tmp_path / "d", "train") == EXAMPLES
    for name in ("seq.in", "seq.out", "label"):
        assert (tmp_path / "d" / "train" / name).read_bytes() == (
            tmp_path / "a" / "train" / name
        ).read_bytes()


def test_detect_none_lists_what_is_there(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("x")
    (tmp_path / "dev").mkdir()
    with pytest.raises(DataError) as info:
        detect_format(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path}: no training data found")
    assert "<split>/seq.in (jointbert), <split>.conll (conll), <split>.jsonl (jsonl)" in message
    assert "it holds dev, train.txt" in message


def test_detect_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="it is empty"):
        detect_format(tmp_path)


def test_detect_ambiguous_names_the_files(tmp_path: Path) -> None:
    write_split(EXAMPLES, tmp_path, "train", "jointbert")
    write_split(EXAMPLES, tmp_path, "dev", "jointbert")
    write_split(EXAMPLES, tmp_path, "train", "jsonl")
    with pytest.raises(DataError) as info:
        detect_format(tmp_path)
    assert (
        "ambiguous data directory: found jointbert files (dev/seq.in, train/seq.in) "
        "and jsonl files (train.jsonl)" in str(info.value)
    )
    # An explicit format settles it.
    assert len(read_split(tmp_path, "train", "jsonl")) == len(EXAMPLES)


def test_missing_and_non_directories(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data directory not found"):
        detect_format(tmp_path / "nope")
    with pytest.raises(DataError, match="data directory not found"):
        read_split(tmp_path / "nope", "train", "conll")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="not a directory"):
        read_split(tmp_path / "file", "train")


def test_missing_split_names_the_expected_file_and_the_splits_present(tmp_path: Path) -> None:
    write_split(EXAMPLES, tmp_path, "train", "conll")
    write_split(EXAMPLES, tmp_path, "test", "conll")
    with pytest.raises(DataError) as info:
        read_split(tmp_path, "dev")
    assert info.value.path == tmp_path / "dev.conll"
    assert "split 'dev' not found (conll format); available splits: train, test" in str(info.value)
    with pytest.raises(DataError, match="available splits: none"):
        read_split(tmp_path, "dev", "jsonl")


def test_jointbert_split_without_seq_in(tmp_path: Path) -> None:
    write_split(EXAMPLES, tmp_path, "train", "jointbert")
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "seq.out").write_text("O\n")
    with pytest.raises(DataError) as info:
        read_split(tmp_path, "dev")
    assert info.value.path == tmp_path / "dev" / "seq.in"


def test_bad_data_errors_come_through_the_facade(tmp_path: Path) -> None:
    (tmp_path / "train.conll").write_text("a O\nb I-x\n")
    with pytest.raises(DataError, match=r"train\.conll:2: token 'b': stray 'I-x'"):
        read_split(tmp_path, "train")
    assert read_split(tmp_path, "train", bio_policy="repair")[0].tags == ("O", "B-x")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: read_split(d, "train", "csv"), "unknown format 'csv'"),
        (lambda d: available_splits(d, "csv"), "unknown format 'csv'"),
        (lambda d: write_split(EXAMPLES, d, "train", "csv"), "unknown format 'csv'"),
        (lambda d: read_split(d, "train", "conll", "loose"), "unknown bio_policy 'loose'"),
        (lambda d: read_split(d, "../train", "conll"), "bad split name '../train'"),
        (lambda d: write_split(EXAMPLES, d, "", "jsonl"), "bad split name ''"),
    ],
)
def test_programming_errors_are_value_errors(
    tmp_path: Path, call: Callable[[Path], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as info:
        call(tmp_path)
    assert not isinstance(info.value, DataError)


@pytest.mark.parametrize(
    ("name", "sizes"),
    [
        ("atis", {"train": 4478, "dev": 500, "test": 893}),
        ("snips", {"train": 13084, "dev": 700, "test": 700}),
    ],
)
def test_real_datasets(name: str, sizes: dict[str, int]) -> None:
    directory = DATASETS / name
    if not directory.is_dir():
        pytest.skip(f"{directory} not present")
    assert detect_format(directory) == "jointbert"
    assert available_splits(directory, "jointbert") == ["train", "dev", "test"]
    for split, size in sizes.items():
        examples = read_split(directory, split)
        assert len(examples) == size
        assert all(ex.intent for ex in examples)
