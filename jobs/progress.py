"""What a job shows while it runs: a bar on a terminal, a log line now and then in a log file.

The bar follows the bytes read (compressed bytes for gzip), which gives an ETA without counting
the lines of a large input first; lines/s is the figure people compare, so it is shown beside it.
A log file gets one plain line every ``LOG_EVERY_S`` seconds, never a wall of carriage returns.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

logger = logging.getLogger("slotfill.tag")

LOG_EVERY_S = 10.0


@dataclass
class Counts:
    """Lines of this run (a resumed job's earlier lines are ``skipped``)."""

    skipped: int = 0
    read: int = 0
    tagged: int = 0
    failed: int = 0
    started: float = field(default_factory=time.perf_counter)

    def summary(self, stopped: str | None = None) -> str:
        """The job's last line, e.g. ``read 1000 lines: tagged 998, failed 2 in 0.5 s (2000 lines/s)``."""
        seconds = time.perf_counter() - self.started
        rate = self.read / seconds if seconds > 0 else 0.0
        line = (
            f"read {self.read} lines: tagged {self.tagged}, failed {self.failed} "
            f"in {seconds:.1f} s ({rate:,.0f} lines/s)"
        )
        if self.skipped:
            line += f"; {self.skipped} lines were already done (resumed)"
        if stopped:
            line += f"; {stopped}"
        return line


class Progress:
    """Shows :class:`Counts` as a job goes; quiet shows nothing."""

    def __init__(
        self,
        counts: Counts,
        total_bytes: int | None,
        position: Callable[[], int],
        quiet: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.counts = counts
        self.total_bytes = total_bytes
        self.position = position
        self.stream = stream or sys.stderr
        self._bar: Any = None
        self._last_log = time.perf_counter()
        self._enabled = not quiet
        if self._enabled and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=total_bytes,
                unit="B" if total_bytes else " lines",
                unit_scale=bool(total_bytes),
                file=self.stream,
                bar_format="{l_bar}{bar}| {postfix} [{elapsed}<{remaining}]"
                if total_bytes
                else "{n_fmt}{unit} [{elapsed}, {rate_fmt}]",
                # A terminal that says it has 0 columns (some CI and `script` sessions) would get an
                # empty bar from tqdm; shutil falls back to $COLUMNS, then 80.
                ncols=shutil.get_terminal_size().columns,
            )

    def _rate(self) -> float:
        seconds = time.perf_counter() - self.counts.started
        return self.counts.read / seconds if seconds > 0 else 0.0

    def update(self, lines: int) -> None:
        if not self._enabled:
            return
        if self._bar is not None:
            if self.total_bytes:
                self._bar.set_postfix_str(f"{self.counts.read:,} lines, {self._rate():,.0f} lines/s", False)
                self._bar.update(self.position() - self._bar.n)
            else:
                self._bar.update(lines)
            return
        now = time.perf_counter()
        if now - self._last_log >= LOG_EVERY_S:
            self._last_log = now
            logger.info("%s", self._status())

    def _status(self) -> str:
        status = f"{self.counts.read:,} lines ({self._rate():,.0f} lines/s), {self.counts.failed} failed"
        if self.total_bytes:
            done = min(self.position() / self.total_bytes, 1.0)
            status += f", {100 * done:.0f}% of the input"
            if 0 < done < 1:
                elapsed = time.perf_counter() - self.counts.started
                status += f", about {elapsed * (1 - done) / done:.0f} s to go"
        return status

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
