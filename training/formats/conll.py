"""CoNLL-style files: ``DIR/<split>.conll``, one ``token tag`` line per token.

Utterances are separated by blank lines. The token is the first field and the tag the last, so
files with extra columns in between (CoNLL-2003's POS and chunk tags) read as they are. An intent
goes in a comment line ``# intent = X`` directly before the utterance's first token; other
``# key = value`` comments in that position (CoNLL-U's ``# text = ...``) are skipped, and
``-DOCSTART-`` lines are ignored. A line ``# O`` is a token ``#`` tagged ``O``, not a comment: only
the ``key = value`` shape makes a comment.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from slotfill.training.data import DataError, Example
from slotfill.training.formats._io import (
    check_split_name,
    file_split_path,
    find_file_splits,
    read_lines,
    write_text,
)
from slotfill.training.formats._validate import check_writable
from slotfill.training.formats.bio import TagError, check_policy, check_tags, log_repairs

logger = logging.getLogger(__name__)

SUFFIX = ".conll"
DOCSTART = "-DOCSTART-"
_COMMENT = re.compile(r"#\s*([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$")


def split_path(directory: Path, split: str) -> Path:
    """``DIR/<split>{SUFFIX}``."""
    return file_split_path(directory, split, SUFFIX)


def find_splits(directory: Path) -> dict[str, Path]:
    """Split name -> file, for every ``*{SUFFIX}`` file in ``directory``."""
    return find_file_splits(directory, SUFFIX)


@dataclass
class _Block:
    """The utterance being collected, with the line of each token for error messages."""

    tokens: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    intent: str | None = None
    intent_line: int | None = None

    @property
    def first_line(self) -> int:
        return self.intent_line if self.intent_line is not None else self.lines[0]


@dataclass
class _Reader:
    """Line-by-line state machine; one instance reads one file."""

    path: Path
    policy: str
    examples: list[Example] = field(default_factory=list)
    repaired: int = 0
    block: _Block = field(default_factory=_Block)
    intent_seen: tuple[bool, int] | None = None  # (first utterance has an intent, its line)

    def feed(self, number: int, line: str) -> None:
        fields = line.split()
        if not fields:
            self._blank(number)
        elif fields[0] == DOCSTART:
            return
        elif (comment := _COMMENT.match(line.strip())) is not None:
            self._comment(number, comment.group(1), comment.group(2))
        elif len(fields) < 2:
            raise DataError(
                self.path, number, f"only one field {fields[0]!r}: expected 'token tag' separated by blanks"
            )
        else:
            self.block.tokens.append(fields[0])
            self.block.tags.append(fields[-1])
            self.block.lines.append(number)

    def finish(self) -> list[Example]:
        if self.block.tokens:
            self._close()
        elif self.block.intent_line is not None:
            raise DataError(self.path, self.block.intent_line, "intent comment at the end has no utterance")
        if not self.examples:
            raise DataError(self.path, None, "no utterances: the file has no token lines")
        log_repairs(self.path, self.repaired)
        return self.examples

    def _blank(self, number: int) -> None:
        if self.block.tokens:
            self._close()
        elif self.block.intent_line is not None:
            raise DataError(
                self.path,
                number,
                f"blank line after the intent comment on line {self.block.intent_line}: "
                "the comment must come directly before its utterance",
            )

    def _comment(self, number: int, key: str, value: str) -> None:
        if self.block.tokens:
            raise DataError(
                self.path,
                number,
                f"comment '# {key} = ...' inside an utterance: put it after a blank line, "
                "directly before the utterance's first token",
            )
        if key != "intent":
            logger.debug("%s:%d: skipping comment %r", self.path, number, key)
            return
        if self.block.intent_line is not None:
            raise DataError(
                self.path, number, f"second intent comment (the first is on line {self.block.intent_line})"
            )
        if not value:
            raise DataError(self.path, number, "empty intent in '# intent =' comment")
        self.block.intent, self.block.intent_line = value, number

    def _close(self) -> None:
        block, self.block = self.block, _Block()
        try:
            tags, fixed = check_tags(block.tags, self.policy)
        except TagError as exc:
            raise DataError(
                self.path, block.lines[exc.index], f"token {block.tokens[exc.index]!r}: {exc.reason}"
            ) from None
        self.repaired += fixed
        has_intent = block.intent is not None
        if self.intent_seen is None:
            self.intent_seen = (has_intent, block.first_line)
        elif self.intent_seen[0] != has_intent:
            raise DataError(
                self.path,
                block.first_line,
                f"utterance {'has an' if has_intent else 'has no'} '# intent = ...' comment but the one on "
                f"line {self.intent_seen[1]} {'has one' if self.intent_seen[0] else 'has none'}: give every "
                "utterance an intent or none",
            )
        self.examples.append(Example(tuple(block.tokens), tags, block.intent))


def read_file(path: Path, bio_policy: str = "strict") -> list[Example]:
    """Read one CoNLL file; errors name the file and the 1-based line of the offending token."""
    check_policy(bio_policy)
    reader = _Reader(path, bio_policy)
    for number, line in enumerate(read_lines(path), start=1):
        reader.feed(number, line)
    return reader.finish()


def read(directory: Path, split: str, bio_policy: str = "strict") -> list[Example]:
    """Read ``DIR/<split>.conll``."""
    check_split_name(split)
    return read_file(split_path(directory, split), bio_policy)


def _format(example: Example, number: int) -> str:
    lines = [f"# intent = {example.intent}"] if example.intent is not None else []
    for token, tag in zip(example.tokens, example.tags, strict=True):
        line = f"{token} {tag}"
        if token == DOCSTART or _COMMENT.match(line):
            raise ValueError(f"example {number}: token {token!r} would read back as a comment or -DOCSTART-")
        lines.append(line)
    return "\n".join(lines) + "\n"


def write(examples: Sequence[Example], directory: Path, split: str) -> Path:
    """Write ``DIR/<split>.conll`` (with ``# intent = X`` comments when the examples have intents)."""
    check_split_name(split)
    check_writable(examples)
    path = split_path(directory, split)
    write_text(path, "\n".join(_format(example, n) for n, example in enumerate(examples, start=1)))
    return path
