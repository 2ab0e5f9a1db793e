"""Writing records: whole lines only, flushed window by window, so a stopped job leaves valid JSONL.

One input line gives exactly one output line, so the number of complete lines in an output *is*
the number of input lines done: ``--resume`` counts them, cuts a torn last line (a job killed in
the middle of a write) and goes on from the next input line. No side file can disagree with it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from slotfill.jobs.source import STDIO, JobError

_CHUNK = 1 << 20


class RecordSink:
    """An output file (or stdout) taking windows of records."""

    def __init__(self, name: str, resume: bool = False, overwrite: bool = False) -> None:
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
                self.done = _cut_to_whole_lines(self._file)
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


def _cut_to_whole_lines(file: BinaryIO) -> int:
    """Count the complete lines of ``file``, cut anything after the last one, leave it at the end."""
    lines = 0
    end_of_last = 0
    offset = 0
    while chunk := file.read(_CHUNK):
        count = chunk.count(b"\n")
        if count:
            lines += count
            end_of_last = offset + chunk.rindex(b"\n") + 1
        offset += len(chunk)
    file.truncate(end_of_last)
    file.seek(end_of_last)
    return lines
