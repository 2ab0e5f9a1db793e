"""The local engine: stream windows of lines through one model (or N worker processes) to the output.

Memory holds the windows in flight and nothing else: read-ahead is one window in-process and
``2 * workers`` windows with worker processes, however large the input. Windows are written in
input order, whole, and flushed, so a stop (Ctrl-C, SIGTERM, ``--fail-fast``) leaves an output
that is complete up to a line; a second Ctrl-C stops at once, still at a window boundary.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from slotfill.jobs.options import WINDOWS_PER_BATCH, Options
from slotfill.jobs.progress import Counts, Progress
from slotfill.jobs.records import BadLine
from slotfill.jobs.sink import RecordSink
from slotfill.jobs.source import LineSource
from slotfill.jobs.tagging import Tagged, tag_lines

if TYPE_CHECKING:
    from slotfill.model.predictor import Predictor

logger = logging.getLogger("slotfill.tag")

STOPPED_AT_BAD_LINE = "stopped at a bad line (--fail-fast)"


@dataclass(frozen=True, slots=True)
class LocalJob:
    """Everything ``slotfill tag`` was asked to do, engine aside."""

    model: str
    input: str
    output: str
    options: Options
    device: str = "auto"
    threads: int | None = None
    workers: int = 1
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False

    @property
    def window(self) -> int:
        return self.options.batch_size * WINDOWS_PER_BATCH


@dataclass(frozen=True, slots=True)
class Outcome:
    counts: Counts
    stopped: str | None = None  # why the job ended early: "interrupted" or STOPPED_AT_BAD_LINE
    first_bad: BadLine | None = None


def windows(lines: Iterator[tuple[int, bytes]], size: int) -> Iterator[list[tuple[int, bytes]]]:
    """``lines`` cut into lists of ``size`` (the last one shorter)."""
    while window := list(itertools.islice(lines, size)):
        yield window


class StopSignal:
    """SIGINT/SIGTERM ask the job to stop after the window in hand; a second one stops it now."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        logger.warning(
            "stopping after the lines in hand (%s again stops at once)", signal.Signals(signum).name
        )

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def load_predictor(model: str, device: str, threads: int | None) -> Predictor:
    import torch

    from slotfill.model.predictor import Predictor

    if threads is not None:
        torch.set_num_threads(threads)
    return Predictor.load(model, device)


def run_local(job: LocalJob) -> Outcome:
    """Run ``job`` to the end of its input or until it is stopped; the output is left valid either way."""
    predictor = load_predictor(job.model, job.device, job.threads)  # a bad model fails before any output
    with LineSource(job.input) as source:
        sink = RecordSink(job.output, job.resume, job.overwrite, job.window)
        counts = Counts(skipped=sink.done)
        progress = Progress(counts, source.size, source.position, job.quiet)
        try:
            with StopSignal() as stop:
                chunks = windows(source.lines(skip=sink.done), job.window)
                if job.workers == 1:
                    results: Iterator[Tagged] = (tag_lines(predictor, w, job.options) for w in chunks)
                else:
                    del predictor  # each worker loads its own
                    results = _in_workers(job, chunks, stop)
                return _drain(results, sink, counts, progress, stop)
        finally:
            progress.close()
            sink.close()


def _drain(
    results: Iterator[Tagged], sink: RecordSink, counts: Counts, progress: Progress, stop: StopSignal
) -> Outcome:
    clashes: set[str] = set()
    for tagged in results:
        sink.write(tagged.records)
        counts.read += len(tagged.records)
        counts.failed += tagged.failed
        counts.tagged += len(tagged.records) - tagged.failed
        progress.update(len(tagged.records))
        if new := set(tagged.clashes) - clashes:
            clashes |= new
            logger.warning("input fields %s are replaced by the parse result's", ", ".join(sorted(new)))
        if tagged.first_bad is not None:
            return Outcome(counts, STOPPED_AT_BAD_LINE, tagged.first_bad)
        if stop.requested:
            return Outcome(counts, "interrupted")
    return Outcome(counts)


# --- worker processes ----------------------------------------------------------------------------

_worker_state: dict[str, Any] = {}


def _exit_with_parent() -> None:
    """A worker whose parent was killed (SIGKILL, the OOM killer) would wait for work forever,
    holding its model: it goes as soon as the parent's sentinel says the parent is gone."""
    import multiprocessing
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is not None:
        wait([parent.sentinel])
        os._exit(1)


def _start_worker(model: str, device: str, threads: int, options: Options) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    threading.Thread(target=_exit_with_parent, daemon=True, name="parent-watch").start()
    _worker_state["predictor"] = load_predictor(model, device, threads)
    _worker_state["options"] = options


def _tag_in_worker(lines: list[tuple[int, bytes]]) -> Tagged:
    return tag_lines(_worker_state["predictor"], lines, _worker_state["options"])


def _in_workers(
    job: LocalJob, chunks: Iterator[list[tuple[int, bytes]]], stop: StopSignal
) -> Iterator[Tagged]:
    """Tag windows in ``job.workers`` processes, at most two windows each in flight, yielded in order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = job.threads or max(1, (os.cpu_count() or 1) // job.workers)
    pool = ProcessPoolExecutor(
        job.workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(job.model, job.device, threads, job.options),
    )
    pending: deque[Future[Tagged]] = deque()
    try:
        for window in chunks:
            pending.append(pool.submit(_tag_in_worker, window))
            if len(pending) >= 2 * job.workers:
                yield pending.popleft().result()
            if stop.requested:
                break
        while pending:  # finish what is in flight, so the output stays contiguous
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
