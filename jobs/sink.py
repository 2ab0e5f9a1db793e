"""Writing records: whole lines only, flushed window by window, so a stopped job leaves valid JSONL.

One input line gives exactly one output line, so the number of complete lines in an output *is*
the number of input lines done: ``--resume`` counts them and goes on from the next input line.
No side file can disagree with it.

It goes back to the last whole window, though: a model's scores move in their last float digits
with the other texts of their batch (padding changes the shapes the kernels see), so a window must
always hold the same lines for a resumed output to equal an uninterrupted one byte for byte.
Windows are numbered from the first line of the input, and a resume restarts at a boundary.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from slotfill.jobs.source import STDIO, JobError

_CHUNK = 1 << 20


class RecordSink:
    """An output file (or stdout) taking windows of records."""

    def __init__(self, name: str, resume: bool = False, overwrite: bool = False, window: int = 1) -> None:
        self.name = name
        self.done = 0  # records already in the output when the job started
        if name == STDIO:
            if resume:
                raise JobError("--resume needs an output file (-o FILE), not stdout")
            self._file: BinaryIO = sys.stdout.buffer
            return
        path = Path(name)
        if path.is_dir():
            raise JobError(f"{name}: is a folder; give a file name")
        if not path.parent.is_dir():
            raise JobError(f"{name}: its folder {path.parent} does not exist")
        has_records = path.exists() and path.stat().st_size > 0
        if has_records and not (resume or overwrite):
            raise JobError(f"{name}: already exists; --resume continues it, --overwrite starts again")
        try:
            if resume and has_records:
                self._file = open(path, "r+b")  # noqa: SIM115 (closed by close())
                self.done = _cut_to_whole_windows(self._file, window)
            else:
                self._file = open(path, "wb")  # noqa: SIM115
        except OSError as error:
            raise JobError(f"{name}: cannot write it ({error.strerror})") from error

    def write(self, records: list[str]) -> None:
        if records:
            self._file.write(("\n".join(records) + "\n").encode("utf-8"))
            self._file.flush()

    def close(self) -> None:
        if self._file is not sys.stdout.buffer:
            self._file.close()


def _line_ends(file: BinaryIO) -> Iterator[int]:
    """Byte offsets just past each newline of ``file``, read from its start."""
    file.seek(0)
    offset = 0
    while chunk := file.read(_CHUNK):
        start = 0
        while (found := chunk.find(b"\n", start)) != -1:
            yield offset + found + 1
            start = found + 1
        offset += len(chunk)


def _cut_to_whole_windows(file: BinaryIO, window: int) -> int:
    """Keep the complete windows of ``window`` lines (a torn last line is never kept): how many lines."""
    file.seek(0)
    lines = sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(_CHUNK), b""))
    keep = lines - lines % window
    end = 0
    if keep:
        end = next(itertools.islice(_line_ends(file), keep - 1, None))
    file.truncate(end)
    file.seek(end)
    return keep
