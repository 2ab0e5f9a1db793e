"""File access shared by the format readers and writers.

Every reader goes through :func:`read_lines`, so the tolerances promised for all formats live in one
place: UTF-8 only (a leading BOM is accepted and dropped), ``\\r\\n`` line endings, and bad bytes or
unreadable files reported as :class:`~training.data.DataError` with the line they sit on instead of
a ``UnicodeDecodeError`` traceback. Writers go through :func:`write_text`, which replaces the target
atomically so an interrupted run never leaves half a training file behind.
"""

from __future__ import annotations

from pathlib import Path

from slotfill.model.atomic import write_text_atomic
from slotfill.training.data import DataError

_BOM = "\ufeff"


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file, without line terminators.

    Lines are split on ``\\n`` only (not :meth:`str.splitlines`, which would also split on form
    feeds and Unicode separators that may sit inside a token); a trailing ``\\r`` is dropped from each
    line, and the newline that ends the last line does not produce an extra empty line.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    except OSError as exc:
        raise DataError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start]
        raise DataError(
            path,
            line,
            f"not valid UTF-8: byte 0x{byte:02x} at byte {exc.start - line_start + 1} of the line "
            "(save the file as UTF-8)",
        ) from None
    if text.startswith(_BOM):
        text = text[len(_BOM) :]
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 with ``\n`` endings, replacing ``path`` atomically."""
    write_text_atomic(path, text)


def check_split_name(split: str) -> None:
    """Refuse split names that would escape the data directory or name no file."""
    if not split or split in (".", "..") or "/" in split or "\\" in split or split != split.strip():
        raise ValueError(f"bad split name {split!r}: expected a plain name such as 'train' or 'dev'")


def file_split_path(directory: Path, split: str, suffix: str) -> Path:
    """``DIR/<split><suffix>``: the one-file-per-split layout of CoNLL and JSONL data."""
    return directory / f"{split}{suffix}"


def find_file_splits(directory: Path, suffix: str) -> dict[str, Path]:
    """Split name -> file, for every ``*<suffix>`` file in ``directory``."""
    if not directory.is_dir():
        return {}
    return {path.stem: path for path in sorted(directory.glob(f"*{suffix}")) if path.is_file()}
