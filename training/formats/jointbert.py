"""The JointBERT / SlotGated-SLU layout: ``DIR/<split>/{seq.in, seq.out, label}``.

Line *i* of the three files describes one utterance: whitespace-separated tokens in ``seq.in``, one
BIO tag per token in ``seq.out`` and, when the file exists, the intent in ``label``. Lines are split
with :meth:`str.split` (no argument) because SNIPS pads them with extra spaces. This is the layout
of the benchmark copies in ``shared/datasets``, so it is read exactly as the papers read it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from slotfill.training.data import DataError, Example
from slotfill.training.formats._io import check_split_name, read_lines, write_text
from slotfill.training.formats._validate import check_writable
from slotfill.training.formats.bio import TagError, check_policy, check_tags, log_repairs

logger = logging.getLogger(__name__)

SEQ_IN = "seq.in"
SEQ_OUT = "seq.out"
LABEL = "label"


def split_path(directory: Path, split: str) -> Path:
    """The file whose presence marks ``split`` as present: ``DIR/<split>/seq.in``."""
    return directory / split / SEQ_IN


def find_splits(directory: Path) -> dict[str, Path]:
    """Split name -> its ``seq.in``, for every sub-directory that holds one."""
    if not directory.is_dir():
        return {}
    return {sub.name: sub / SEQ_IN for sub in sorted(directory.iterdir()) if (sub / SEQ_IN).is_file()}


def _without_trailing_blanks(lines: list[str]) -> list[str]:
    # An editor's extra newline at the end must not count as an utterance or break line alignment.
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


def _read_aligned(path: Path, reference: Path, expected: int, what: str) -> list[str]:
    """Read a file that must have one line per line of ``reference`` (``expected`` of them)."""
    if not path.is_file():
        raise DataError(
            path, None, f"file not found: {reference.name} needs a {path.name} beside it ({what})"
        )
    lines = _without_trailing_blanks(read_lines(path))
    if len(lines) != expected:
        raise DataError(
            path,
            min(len(lines), expected) + 1,
            f"{path.name} has {_lines(len(lines))} but {reference.name} has {_lines(expected)} ({what})",
        )
    return lines


def read(directory: Path, split: str, bio_policy: str = "strict") -> list[Example]:
    """Read ``DIR/<split>``; errors name the file and the 1-based line."""
    check_policy(bio_policy)
    check_split_name(split)
    folder = directory / split
    seq_in, seq_out, label = folder / SEQ_IN, folder / SEQ_OUT, folder / LABEL
    if not seq_in.is_file():
        raise DataError(seq_in, None, f"file not found: split {split!r} needs {SEQ_IN} and {SEQ_OUT}")
    texts = _without_trailing_blanks(read_lines(seq_in))
    if not texts:
        raise DataError(seq_in, None, "no utterances: the file is empty")
    tag_lines = _read_aligned(seq_out, seq_in, len(texts), "one line of tags per utterance")
    intents = _read_aligned(label, seq_in, len(texts), "one intent per utterance") if label.exists() else None

    examples: list[Example] = []
    repaired = 0
    for number, (text, tag_line) in enumerate(zip(texts, tag_lines, strict=True), start=1):
        tokens = tuple(text.split())
        if not tokens:
            raise DataError(seq_in, number, "empty utterance: the line has no tokens")
        raw_tags = tag_line.split()
        if len(raw_tags) != len(tokens):
            raise DataError(
                seq_out, number, f"{len(raw_tags)} tags for {len(tokens)} tokens on line {number} of {SEQ_IN}"
            )
        try:
            tags, fixed = check_tags(raw_tags, bio_policy)
        except TagError as exc:
            raise DataError(
                seq_out, number, f"token {exc.index + 1} ({tokens[exc.index]!r}): {exc.reason}"
            ) from None
        repaired += fixed
        intent = None
        if intents is not None:
            intent = intents[number - 1].strip()
            if not intent:
                raise DataError(label, number, "empty intent: every utterance needs one")
        examples.append(Example(tokens, tags, intent))
    log_repairs(seq_out, repaired)
    return examples


def write(examples: Sequence[Example], directory: Path, split: str) -> Path:
    """Write ``DIR/<split>/{seq.in, seq.out[, label]}`` and return the split folder.

    ``label`` is written when the examples have intents; a ``label`` left there by an earlier run is
    removed otherwise, since it would be paired with the wrong utterances on the next read.
    """
    check_split_name(split)
    check_writable(examples)
    folder = directory / split
    write_text(folder / SEQ_IN, "".join(" ".join(ex.tokens) + "\n" for ex in examples))
    write_text(folder / SEQ_OUT, "".join(" ".join(ex.tags) + "\n" for ex in examples))
    label = folder / LABEL
    if examples[0].intent is not None:
        write_text(label, "".join(f"{ex.intent}\n" for ex in examples))
    elif label.exists():
        logger.warning("%s: removing stale intent file (the examples written have no intents)", label)
        label.unlink()
    return folder
