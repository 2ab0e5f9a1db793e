"""Dynamic micro-batching: texts from concurrent requests share one model call.

Requests put their texts in one queue and wait on a future per text. One dedicated model thread
takes the oldest texts as soon as the batch is full (``max_size`` texts or ``max_tokens`` tokens)
or the oldest has waited ``max_wait_s``, runs the model (never on the event loop, and never two
calls at once), and hands every text its own result. If a batch fails, its texts are retried one
by one so only the culprit fails; every waiter gets a result or an exception, so nobody hangs.

Why the batching itself runs in the model thread, not in a task on the event loop: under
overload the loop is busy with hundreds of connections, and every step of a loop-side batcher
(wake on arrival, wait out the window, hand the call to a thread, take its result back) waits a
whole turn of that loop. Measured at 256 clients, model calls then came tens of milliseconds
apart and the service tagged 60 texts/s while refusing thousands. Here the thread goes from one
call to the next on its own; the loop only enqueues, and takes each call's results back in one
callback.

The window is only waited out when requests arrive together (the previous call had several
texts, or several are queued): light traffic, one request at a time, pays no batching delay, and
under load a model call gathers everything that arrived while the previous one ran.

Admission is by cost, not by count. Texts differ a hundredfold in what they cost the model (a
1,000-token string of "!" against a five-word request), so the batcher keeps a running estimate
of model seconds per call and per token, measured on every call, and refuses at once
(:class:`QueueFullError`, a 503 with ``Retry-After``) a request whose tokens would not be tagged,
behind the work already queued and running, within ``admit_share`` of ``timeout_s``. A request
it accepts is thus expected to finish in time: overload turns into quick 503s rather than 504s
after a long wait. ``queue_limit`` still bounds the number of waiting texts.

Short requests never queue behind long ones. A request of at most ``small_tokens`` tokens (nearly
every chat message) waits in a lane of its own, and when both lanes hold work they take model
calls in turn: eight clients sending 64,000-token batches delay a one-line message by one call of
theirs at most, not by seconds, and never starve it into a 503. In turn, large requests are sure
of every other call, so a large request is admitted when its lane's work, its own included, fits
half the admission budget (the other half goes to the small calls in between), and a small one
counts, besides its own lane, as many large tokens as may come between its lane's calls.
A caller waits at most ``timeout_s``
(:class:`InferenceTimeoutError`), and texts whose caller gave up are skipped, so a slow model call
does not leave a backlog of work nobody waits for. ``max_size=1`` or ``max_wait_s=0`` turn the
waiting off (the second still batches whatever queued up meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from slotfill.service.cost import CostModel

T = TypeVar("T")
logger = logging.getLogger("slotfill.batcher")


class QueueFullError(Exception):
    """More texts are waiting than the queue holds; the caller should retry later."""


class RequestTooCostlyError(Exception):
    """The request alone would take longer than its timeout allows, by the cost estimate."""


class BatcherClosedError(Exception):
    """The service is shutting down and takes no new work."""


class InferenceTimeoutError(Exception):
    """The texts were not tagged within the request timeout."""


@dataclass(slots=True)
class _Item(Generic[T]):
    text: str
    tokens: int
    future: asyncio.Future[T]
    enqueued: float


@dataclass
class _Lane(Generic[T]):
    """Waiting texts in arrival order, and their tokens (texts given up on included until dropped)."""

    items: deque[_Item[T]] = field(default_factory=deque)
    tokens: int = 0

    def add(self, items: Sequence[_Item[T]]) -> None:
        self.items.extend(items)
        self.tokens += sum(item.tokens for item in items)

    def pop(self) -> _Item[T]:
        item = self.items.popleft()
        self.tokens -= item.tokens
        return item

    def drop_given_up(self) -> None:
        """Forget the texts whose caller stopped waiting (timed out or went away)."""
        while self.items and self.items[0].future.done():
            self.pop()

    def keep_waited_for(self) -> None:
        self.items = deque(item for item in self.items if not item.future.done())
        self.tokens = sum(item.tokens for item in self.items)


def _resolve(item: _Item[T], result: T) -> None:
    if not item.future.done():  # done: the caller timed out or went away
        item.future.set_result(result)


def _fail(item: _Item[T], error: BaseException) -> None:
    if not item.future.done():
        item.future.set_exception(error)


class Batcher(Generic[T]):
    """Gathers texts into model calls; ``predict`` maps a list of texts to one result per text.

    The queue is shared by the event loop (``submit``) and the model thread (``_run``) under one
    lock, held only for bookkeeping, never across a model call.
    """

    def __init__(
        self,
        predict: Callable[[list[str]], Sequence[T]],
        *,
        max_size: int = 32,
        max_tokens: int = 1024,
        max_wait_s: float = 0.002,
        queue_limit: int = 512,
        timeout_s: float = 5.0,
        count_tokens: Callable[[str], int] = lambda text: len(text.split()),
        on_batch: Callable[[int, int, float], None] | None = None,
        seconds_per_token: float = 0.0,
        admit_share: float = 0.8,
        small_tokens: int = 256,
    ) -> None:
        """``seconds_per_token``: the starting estimate of model time per token (0: admit by
        count alone until the first call is measured); ``admit_share``: the share of ``timeout_s``
        that the work ahead of a new request, its own included, may be expected to take;
        ``small_tokens``: the most tokens of a request served in the lane of small ones;
        ``on_batch(texts, tokens, seconds)`` is called from the model thread after each call."""
        if max_size < 1 or max_tokens < 1 or queue_limit < 1 or max_wait_s < 0 or timeout_s <= 0:
            raise ValueError("max_size, max_tokens, queue_limit and timeout_s must be positive")
        if seconds_per_token < 0 or not 0 < admit_share <= 1:
            raise ValueError("seconds_per_token must be >= 0 and admit_share in (0, 1]")
        self._predict = predict
        self.max_size = max_size
        self.max_tokens = max_tokens
        self.max_wait_s = max_wait_s
        self.queue_limit = queue_limit
        self.timeout_s = timeout_s
        self._count_tokens = count_tokens
        self._on_batch = on_batch
        self.cost = CostModel.starting_at(seconds_per_token)
        self.admit_share = admit_share
        self.small_tokens = small_tokens
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # notified on arrival and on closing
        self._running_tokens = 0  # tokens of the call in progress
        self._small: _Lane[T] = _Lane()
        self._large: _Lane[T] = _Lane()
        self._closed = False
        self._abandoned = False  # stop's grace ran out: the thread ends after the call in hand
        self._busy_since: float | None = None
        self._last_size = 0
        self._last_lane: _Lane[T] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def depth(self) -> int:
        """Texts waiting for the model (including some whose caller already gave up)."""
        return len(self._small.items) + len(self._large.items)

    @property
    def backlog_s(self) -> float:
        """Expected model seconds of the work queued and running, by the current estimate."""
        with self._lock:
            return self._expected(self._small.tokens + self._large.tokens)

    def _expected(self, queued_tokens: int) -> float:
        """Model seconds of ``queued_tokens`` in calls of at most ``max_tokens``, after the call in
        progress (if any)."""
        calls = -(-queued_tokens // self.max_tokens) + (1 if self._running_tokens else 0)
        return self.cost.seconds(calls, queued_tokens + self._running_tokens)

    def _serving(self) -> _Lane[T]:
        """The lane the next model call takes from: the one with work, and when both have work,
        the one not served last."""
        self._small.drop_given_up()
        self._large.drop_given_up()
        if not self._large.items:
            return self._small
        if not self._small.items:
            return self._large
        return self._small if self._last_lane is self._large else self._large

    @property
    def busy_for(self) -> float:
        """Seconds the running model call has taken so far; 0 when the model is idle."""
        since = self._busy_since
        return 0.0 if since is None else time.monotonic() - since

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._closed

    async def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the batcher is already started")
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="slotfill-model", daemon=True)
        self._thread.start()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Refuse new texts, finish the queued ones (up to ``grace_s``), then stop the thread."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, grace_s)
        with self._wake:
            self._abandoned = True
            self._wake.notify_all()
            left = [lane.pop() for lane in (self._small, self._large) for _ in range(len(lane.items))]
        for item in left:
            _fail(item, BatcherClosedError("the service is shutting down"))

    async def submit(self, texts: Sequence[str]) -> list[T]:
        """Results for ``texts``, in order.

        Raises QueueFullError, BatcherClosedError, InferenceTimeoutError, or the error ``predict`` raised.
        """
        if self._closed:
            raise BatcherClosedError("the service is shutting down")
        if not texts:
            return []
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the batcher is not running")
        self._check_room(len(texts))
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        items = [_Item(text, self._count_tokens(text), loop.create_future(), now) for text in texts]
        tokens = sum(item.tokens for item in items)
        with self._wake:
            self._admit(tokens)
            (self._small if tokens <= self.small_tokens else self._large).add(items)
            self._wake.notify()
        futures = [item.future for item in items]
        try:
            _, unfinished = await asyncio.wait(futures, timeout=self.timeout_s)
            if unfinished:
                raise InferenceTimeoutError(f"the model did not answer within {self.timeout_s:g} s")
            return [future.result() for future in futures]
        finally:
            if not all(future.done() for future in futures):
                for future in futures:
                    future.cancel()
                with self._lock:
                    self._small.keep_waited_for()
                    self._large.keep_waited_for()

    def refusal(self) -> str | None:
        """Why even a one-token request would be refused now (a full queue), or None.

        Read without the lock, from plain counters: the service asks before it reads a request's
        body, so that under overload a refusal costs the event loop a fraction of what parsing
        and validating the body would (a loop busy refusing starves the model thread of the
        interpreter lock, and refusals then feed on themselves).
        """
        try:
            self._check_room(1)
            self._admit(1)
        except QueueFullError as error:
            return str(error)
        return None

    def _check_room(self, texts: int) -> None:
        """Raise unless ``texts`` more fit under ``queue_limit``."""
        if self.depth + texts > self.queue_limit:
            raise QueueFullError(f"{self.depth} texts are already waiting (limit {self.queue_limit})")

    def _admit(self, tokens: int) -> None:
        """Raise unless a request of ``tokens`` may join the queue (under the lock, or read without
        it by ``refusal``: plain counters, at worst a step stale)."""
        large = tokens > self.small_tokens
        budget = self.admit_share * self.timeout_s
        if large:
            # Every other call is a small one: the large lane's work must fit half the budget.
            budget /= 2
            queued = self._large.tokens
        else:
            # Between its lane's calls come large ones: as many large tokens as small ones ahead.
            queued = self._small.tokens + min(self._large.tokens, self._small.tokens + tokens)
        alone = self.cost.seconds(-(-tokens // self.max_tokens), tokens)
        if alone > budget and large:
            # It would time out even with the model to itself: no retry can help, so not a 503.
            # Never a small request: those keep being served, so the estimate keeps learning
            # (a stalled call could otherwise make every request look too costly for good).
            raise RequestTooCostlyError(
                f"this request alone is about {alone:.2f} s of model work, over the {budget:.2f} s "
                "a large request may take; send fewer or shorter texts"
            )
        expected = self._expected(queued + tokens)
        if expected > budget and (queued or self._running_tokens):
            # Alone in an idle queue a request is tried: refusing it on the estimate alone could
            # refuse every request for good. Behind other work it waits for room.
            raise QueueFullError(
                f"about {expected:.2f} s of model work would be ahead of this request's answer "
                f"(the limit is {budget:.2f} s)"
            )

    # The model thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                return
            try:
                self._dispatch(batch)
            except Exception as error:  # a bug here must not kill the thread and hang everyone
                logger.exception("batch dispatch failed")
                self._deliver(batch, None, error)

    def _plan(self, lane: _Lane[T] | None = None) -> tuple[int, bool]:
        """How many live texts from the head of ``lane`` (default: the one served next) go in the
        next batch, and whether that batch is full."""
        count = tokens = 0
        for item in (lane or self._serving()).items:
            if item.future.done():
                continue
            if count == self.max_size or (count and tokens + item.tokens > self.max_tokens):
                return count, True
            count += 1
            tokens += item.tokens
        return count, count == self.max_size

    def _next_batch(self) -> list[_Item[T]]:
        """The next call's texts, marked as running; empty when the thread should end."""
        with self._wake:
            while True:
                if self._abandoned:
                    return []
                lane = self._serving()
                if not lane.items:
                    if self._closed:
                        return []
                    self._wake.wait()
                    continue
                deadline = lane.items[0].enqueued + self.max_wait_s
                while self._worth_waiting() and not self._plan()[1]:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake.wait(remaining)
                batch = self._take()
                if batch:
                    self._last_size = len(batch)
                    self._running_tokens = sum(item.tokens for item in batch)
                    self._busy_since = time.monotonic()
                    return batch

    def _worth_waiting(self) -> bool:
        """Wait for company only when requests come together: the last call had several texts, or
        several are queued. A lone request after a lone one goes straight to the model."""
        if self._closed or self.max_wait_s <= 0:
            return False
        return self._last_size > 1 or self.depth > 1

    def _take(self) -> list[_Item[T]]:
        lane = self._last_lane = self._serving()
        count, _ = self._plan(lane)
        batch: list[_Item[T]] = []
        while len(batch) < count:
            item = lane.pop()
            if not item.future.done():
                batch.append(item)
        return batch

    def _dispatch(self, batch: list[_Item[T]]) -> None:
        tokens = self._running_tokens
        try:
            began = time.perf_counter()
            results = self._call([item.text for item in batch])
            seconds = time.perf_counter() - began
        except Exception as error:
            if len(batch) == 1:
                self._deliver(batch, None, error)
            else:
                logger.warning("a batch of %d failed (%r); retrying its texts one by one", len(batch), error)
                self._one_by_one(batch)
        else:
            with self._lock:
                self.cost.observe(tokens, seconds)
            self._deliver(batch, results, None)
            if self._on_batch is not None:
                self._on_batch(len(batch), tokens, seconds)
        finally:
            with self._lock:
                self._busy_since = None
                self._running_tokens = 0

    def _one_by_one(self, batch: list[_Item[T]]) -> None:
        for item in batch:
            if item.future.done():
                continue
            self._busy_since = time.monotonic()
            try:
                results = self._call([item.text])
            except Exception as error:
                self._deliver([item], None, error)
            else:
                self._deliver([item], results, None)

    def _call(self, texts: list[str]) -> list[T]:
        results = list(self._predict(texts))
        if len(results) != len(texts):
            raise RuntimeError(f"the model returned {len(results)} results for {len(texts)} texts")
        return results

    def _deliver(self, batch: list[_Item[T]], results: list[T] | None, error: BaseException | None) -> None:
        """Hand a call's outcome to its waiters, on the event loop (futures are not thread-safe):
        one callback per call, whatever its size."""
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is left to wait
            self._loop.call_soon_threadsafe(_settle, batch, results, error)


def _settle(batch: list[_Item[T]], results: list[T] | None, error: BaseException | None) -> None:
    if results is None:
        for item in batch:
            _fail(item, error or RuntimeError("the model call failed"))
        return
    for item, result in zip(batch, results, strict=True):
        _resolve(item, result)
