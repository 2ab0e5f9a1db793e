"""Reading a corpus line by line: a file or stdin, plain or gzip, never the whole of it at once.

Lines come as raw bytes with their numbers (from 1), so a broken byte is the line's problem, found
and reported by :mod:`slotfill.jobs.records`, not a crash of the reader. Gzip is told by its
magic bytes, not by the name, so ``zcat``-less pipes (``cat x.gz | slotfill tag m -``) work too.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from slotfill.jobs.options import InputFormat

GZIP_MAGIC = b"\x1f\x8b"
STDIO = "-"
_SUFFIXES: dict[str, InputFormat] = {".txt": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class JobError(Exception):
    """An input, output or option the job cannot run with; the message names it."""


def input_format(name: str, given: InputFormat | None) -> InputFormat:
    """The format given, else the one the name says (``.txt``, ``.jsonl``, ``.ndjson``, maybe ``.gz``).

    >>> input_format("chats.jsonl.gz", None)
    'jsonl'
    >>> input_format("-", None)
    'txt'
    """
    if given is not None:
        return given
    if name == STDIO:
        return "txt"
    path = Path(name)
    suffix = Path(path.stem).suffix if path.suffix == ".gz" else path.suffix
    if suffix.lower() not in _SUFFIXES:
        raise JobError(f"{name}: cannot tell its format from the name; pass --input-format txt or jsonl")
    return _SUFFIXES[suffix.lower()]


def _open_uri(uri: str) -> io.BufferedReader:
    try:
        from pyarrow import fs
    except ImportError as error:
        raise JobError(f"{uri}: reading a URI needs pyarrow (pip install 'slotfill[ray]')") from error
    try:
        filesystem, path = fs.FileSystem.from_uri(uri)
        stream = filesystem.open_input_stream(path, compression=None)
    except (OSError, ValueError) as error:
        raise JobError(f"{uri}: cannot read it ({error})") from error
    return io.BufferedReader(stream)


class LineSource:
    """Numbered raw lines of one input, with how far into it the reader is (for progress and ETA)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.size: int | None = None  # bytes, when the input is a regular file
        self._owned = True
        if "://" in name:  # s3://, gs://, hdfs://...: what Ray's own readers take, through pyarrow
            self._buffered = _open_uri(name)
        elif name == STDIO:
            self._buffered = cast(io.BufferedReader, sys.stdin.buffer)
            self._owned = False
        else:
            try:
                self._buffered = open(name, "rb")  # noqa: SIM115 (closed by close())
            except OSError as error:
                raise JobError(f"{name}: cannot read it ({error.strerror})") from error
            info = os.fstat(self._buffered.fileno())
            self.size = info.st_size if stat.S_ISREG(info.st_mode) else None
        self._stream: BinaryIO = self._buffered
        if self._buffered.peek(2)[:2] == GZIP_MAGIC:
            self._stream = cast(BinaryIO, gzip.GzipFile(fileobj=self._buffered, mode="rb"))

    def position(self) -> int:
        """Bytes of the input (compressed, for gzip) consumed so far."""
        try:
            return self._buffered.tell()
        except OSError:  # a pipe
            return 0

    def lines(self, skip: int = 0) -> Iterator[tuple[int, bytes]]:
        """``(number, bytes without the line ending)`` from line ``skip + 1`` on."""
        number = 0
        try:
            for raw in self._stream:
                number += 1
                if number <= skip:
                    continue
                end = -2 if raw.endswith(b"\r\n") else -1 if raw.endswith(b"\n") else len(raw)
                yield number, raw[:end]
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise JobError(f"{self.name}: unreadable after line {number} ({error})") from error
        if number < skip:
            raise JobError(
                f"{self.name}: has {number} lines but the output already holds {skip} records; "
                "is it the same input?"
            )

    def close(self) -> None:
        if self._owned:
            self._buffered.close()

    def __enter__(self) -> LineSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
