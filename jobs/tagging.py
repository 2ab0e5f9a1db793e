"""The unit of work of both engines: a window of numbered raw lines in, one output record per line out.

Texts of a window are sorted by length and cut into batches, so a batch pads its short texts to
nearly their own length rather than to the window's longest; the records go back in input order.
The window is bounded (the caller chooses it), so sorting never holds more than it in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slotfill.jobs.options import Options
from slotfill.jobs.records import (
    BadLine,
    Item,
    clashing_fields,
    error_record,
    read_line,
    result_record,
)

if TYPE_CHECKING:
    from slotfill.model.predictor import Predictor

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Tagged:
    """The records of a window, in input order, with what went wrong.

    With ``fail_fast``, ``records`` stop just before the first bad line, which is ``first_bad``.
    """

    records: list[str]
    errors: list[bool]  # per record: an error record?
    first_bad: BadLine | None = None
    clashes: tuple[str, ...] = ()

    @property
    def failed(self) -> int:
        return sum(self.errors)


def tag_lines(predictor: Predictor, lines: Sequence[tuple[int, bytes]], options: Options) -> Tagged:
    """Read, check and tag ``lines`` (number, raw bytes without the line ending)."""
    read = [read_line(number, raw, options.fmt, options.max_chars) for number, raw in lines]
    first_bad = next((r for r in read if isinstance(r, BadLine)), None)
    if options.fail_fast and first_bad is not None:
        read = read[: read.index(first_bad)]
    items = [(i, r) for i, r in enumerate(read) if isinstance(r, Item)]
    records = [error_record(r) if isinstance(r, BadLine) else "" for r in read]
    items.sort(key=lambda pair: len(pair[1].text))
    clashes: set[str] = set()
    for begin in range(0, len(items), options.batch_size):
        chunk = items[begin : begin + options.batch_size]
        parses = predictor.parse_batch([item.text for _, item in chunk], options.batch_size)
        for (index, item), parse in zip(chunk, parses, strict=True):
            records[index] = result_record(parse, item.carried)
            if item.carried:
                clashes.update(clashing_fields(item.carried))
    errors = [isinstance(r, BadLine) for r in read]
    return Tagged(records, errors, first_bad if options.fail_fast else None, tuple(sorted(clashes)))
