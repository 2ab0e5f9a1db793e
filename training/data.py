"""The annotated utterance every reader produces and every writer consumes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class DataError(ValueError):
    """Bad training data, located as ``file:line`` so the user can go straight to it."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Example:
    """One utterance: tokens with one BIO tag each, and an intent when the data has one.

    ``text`` and ``offsets`` are kept when the source had raw text (JSONL), so writers can give
    it back unchanged; readers of pre-tokenised formats leave them ``None``.
    """

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    intent: str | None = None
    text: str | None = None
    offsets: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.tags):
            raise ValueError(f"{len(self.tokens)} tokens but {len(self.tags)} tags")
        if self.offsets is not None and len(self.offsets) != len(self.tokens):
            raise ValueError(f"{len(self.tokens)} tokens but {len(self.offsets)} offsets")
