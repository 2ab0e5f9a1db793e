"""Progress: a bar with lines/s on a terminal, plain periodic lines in a log, nothing when quiet."""

from __future__ import annotations

import io
import logging

import pytest

from slotfill.jobs import progress
from slotfill.jobs.progress import Counts, Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(stream: io.StringIO, quiet: bool = False) -> None:
    counts = Counts()
    shown = Progress(counts, 100_000, lambda: counts.read * 10, quiet=quiet, stream=stream)
    for _ in range(5):
        counts.read += 200
        shown.update(200)
    shown.close()


def test_a_terminal_gets_a_bar_with_lines_per_second() -> None:
    terminal = Terminal()
    run(terminal)
    assert "\r" in terminal.getvalue() and "1,000 lines" in terminal.getvalue()
    assert " lines/s" in terminal.getvalue() and "10%" in terminal.getvalue()


def test_a_log_gets_plain_lines_with_rate_and_time_left(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    log = io.StringIO()
    with caplog.at_level(logging.INFO, logger="slotfill.tag"):
        run(log)
    assert log.getvalue() == ""  # no bar, no carriage return
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 5
    assert messages[-1].startswith("1,000 lines (") and "0 failed, 10% of the input" in messages[-1]
    assert "s to go" in messages[-1]


def test_quiet_shows_nothing(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    terminal = Terminal()
    with caplog.at_level(logging.INFO, logger="slotfill.tag"):
        run(terminal, quiet=True)
    assert terminal.getvalue() == "" and not caplog.records


def test_the_summary_counts_a_resumed_jobs_earlier_lines_apart() -> None:
    counts = Counts(skipped=256, read=44, tagged=40, failed=4)
    summary = counts.summary("interrupted")
    assert summary.startswith("read 44 lines: tagged 40, failed 4 in ")
    assert summary.endswith("; 256 lines were already done (resumed); interrupted")
