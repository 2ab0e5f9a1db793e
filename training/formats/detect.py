"""One entry point over the three formats: detect which one a directory holds, list, read, write.

The format is a property of the data directory, not of each call, so it is detected from the files
present; a directory holding two formats at once is refused rather than guessed, because reading
the stale copy of a dataset gives results that look plausible and are wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from slotfill.training.data import DataError, Example
from slotfill.training.formats import conll, jointbert, jsonl
from slotfill.training.formats._io import check_split_name
from slotfill.training.formats.bio import check_policy

logger = logging.getLogger(__name__)

FORMATS = ("jointbert", "conll", "jsonl")
STANDARD_SPLITS = ("train", "dev", "test")


class _Format(NamedTuple):
    find_splits: Callable[[Path], dict[str, Path]]
    split_path: Callable[[Path, str], Path]
    read: Callable[[Path, str, str], list[Example]]
    write: Callable[[Sequence[Example], Path, str], Path]
    pattern: str


_REGISTRY: dict[str, _Format] = {
    "jointbert": _Format(
        jointbert.find_splits, jointbert.split_path, jointbert.read, jointbert.write, "<split>/seq.in"
    ),
    "conll": _Format(conll.find_splits, conll.split_path, conll.read, conll.write, "<split>.conll"),
    "jsonl": _Format(jsonl.find_splits, jsonl.split_path, jsonl.read, jsonl.write, "<split>.jsonl"),
}


def _format(fmt: str) -> _Format:
    try:
        return _REGISTRY[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}") from None


def _check_directory(directory: Path) -> None:
    if not directory.exists():
        raise DataError(directory, None, "data directory not found")
    if not directory.is_dir():
        raise DataError(directory, None, "not a directory: expected a folder holding the data files")


def _names(paths: Sequence[Path], directory: Path, limit: int = 8) -> str:
    names = [path.relative_to(directory).as_posix() for path in paths]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def detect_format(directory: Path) -> str:
    """The one format whose files ``directory`` holds.

    Raises ``DataError`` when it holds none of them (listing what it does hold) or more than one
    (naming the files of each).
    """
    _check_directory(directory)
    found = {fmt: list(spec.find_splits(directory).values()) for fmt, spec in _REGISTRY.items()}
    found = {fmt: paths for fmt, paths in found.items() if paths}
    if len(found) == 1:
        return next(iter(found))
    if not found:
        expected = ", ".join(f"{spec.pattern} ({fmt})" for fmt, spec in _REGISTRY.items())
        present = sorted(directory.iterdir())
        holds = f"it holds {_names(present, directory)}" if present else "it is empty"
        raise DataError(directory, None, f"no training data found: expected {expected}; {holds}")
    listing = " and ".join(f"{fmt} files ({_names(paths, directory)})" for fmt, paths in found.items())
    raise DataError(
        directory,
        None,
        f"ambiguous data directory: found {listing}; pass the format explicitly or remove one",
    )


def _ordered(splits: Sequence[str]) -> list[str]:
    standard = [split for split in STANDARD_SPLITS if split in splits]
    return standard + sorted(split for split in splits if split not in STANDARD_SPLITS)


def available_splits(directory: Path, fmt: str) -> list[str]:
    """The splits present in ``fmt``: train, dev, test first (those that exist), then others by name."""
    return _ordered(list(_format(fmt).find_splits(directory)))


def read_split(
    directory: Path, split: str, fmt: str | None = None, bio_policy: str = "strict"
) -> list[Example]:
    """Read one split, detecting the format when ``fmt`` is ``None``.

    Every problem with the data is a ``DataError`` naming the file and, where there is one, the line.
    """
    check_policy(bio_policy)
    check_split_name(split)
    _check_directory(directory)
    fmt = detect_format(directory) if fmt is None else fmt
    spec = _format(fmt)
    splits = _ordered(list(spec.find_splits(directory)))
    if split not in splits:
        available = ", ".join(splits) if splits else "none"
        raise DataError(
            spec.split_path(directory, split),
            None,
            f"split {split!r} not found ({fmt} format); available splits: {available}",
        )
    examples = spec.read(directory, split, bio_policy)
    logger.info("read %d utterances from %s (%s)", len(examples), spec.split_path(directory, split), fmt)
    return examples


def write_split(examples: Sequence[Example], directory: Path, split: str, fmt: str) -> Path:
    """Write one split in ``fmt`` and return what was written (the split folder for jointbert).

    Raises ``ValueError`` for examples the format cannot hold, before anything is written.
    """
    spec = _format(fmt)
    path = spec.write(examples, directory, split)
    logger.info("wrote %d utterances to %s (%s)", len(examples), path, fmt)
    return path
