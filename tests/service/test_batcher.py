"""The micro-batcher without a model: a fake ``predict`` records every call it gets."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest

from slotfill.service.batcher import (
    Batcher,
    BatcherClosedError,
    InferenceTimeoutError,
    QueueFullError,
    RequestTooCostlyError,
    _Item,
)

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, 20))


class Recorder:
    """A predict function: upper-cases texts, remembers each call, can fail or block on demand."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, texts: list[str]) -> list[str]:
        self.calls.append(list(texts))
        self.gate.wait(10)
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError(f"cannot tag {self.fail_on!r}")
        return [text.upper() for text in texts]


async def refused_at_once(submission: Awaitable[list[str]]) -> None:
    """``submission`` fails with QueueFullError in its first step: it never waits for room."""
    attempt = asyncio.ensure_future(submission)
    await asyncio.sleep(0)  # one turn of the loop: the attempt runs until it first waits, or ends
    assert attempt.done(), "the submission waited instead of being refused"
    with pytest.raises(QueueFullError):
        attempt.result()


async def with_batcher(
    predict: Callable[[list[str]], list[str]],
    body: Callable[[Batcher[str]], Awaitable[T]],
    **options: Any,
) -> T:
    batcher: Batcher[str] = Batcher(predict, **options)
    await batcher.start()
    try:
        return await body(batcher)
    finally:
        await batcher.stop(grace_s=2)


def test_concurrent_callers_share_calls_and_get_their_own_results() -> None:
    recorder = Recorder()

    async def body(batcher: Batcher[str]) -> list[list[str]]:
        requests = [[f"text {i}"] if i % 3 else [f"text {i}", f"more {i}"] for i in range(40)]
        return await asyncio.gather(*(batcher.submit(texts) for texts in requests))

    answers = run(with_batcher(recorder, body, max_size=8, max_wait_s=0.05))
    for i, answer in enumerate(answers):
        assert answer == ([f"TEXT {i}"] if i % 3 else [f"TEXT {i}", f"MORE {i}"])
    assert max(len(call) for call in recorder.calls) == 8
    assert len(recorder.calls) < 40
    assert sorted(t for call in recorder.calls for t in call) == sorted(
        t for i in range(40) for t in ([f"text {i}"] if i % 3 else [f"text {i}", f"more {i}"])
    )


def test_an_exception_reaches_every_waiter() -> None:
    def broken(texts: list[str]) -> list[str]:
        raise RuntimeError("model exploded")

    async def body(batcher: Batcher[str]) -> list[Any]:
        return await asyncio.gather(*(batcher.submit([f"t{i}"]) for i in range(10)), return_exceptions=True)

    outcomes = run(with_batcher(broken, body, max_size=4, max_wait_s=0.02))
    assert all(isinstance(o, RuntimeError) and "model exploded" in str(o) for o in outcomes)


def test_a_failing_text_fails_alone_not_its_batch_mates() -> None:
    recorder = Recorder(fail_on="poison")

    async def body(batcher: Batcher[str]) -> list[Any]:
        texts = ["a", "b", "poison", "c"]
        return await asyncio.gather(*(batcher.submit([t]) for t in texts), return_exceptions=True)

    outcomes = run(with_batcher(recorder, body, max_size=8, max_wait_s=0.05))
    assert outcomes[:2] == [["A"], ["B"]] and outcomes[3] == ["C"]
    assert isinstance(outcomes[2], ValueError)
    assert ["a", "b", "poison", "c"] in recorder.calls  # batched first, then retried one by one


def test_wrong_number_of_results_is_an_error_for_everyone() -> None:
    async def body(batcher: Batcher[str]) -> list[Any]:
        return await asyncio.gather(*(batcher.submit([t]) for t in "xy"), return_exceptions=True)

    outcomes = run(with_batcher(lambda texts: [], body, max_size=2, max_wait_s=0.05))
    assert isinstance(outcomes[0], RuntimeError) and "results for" in str(outcomes[0])


def test_full_queue_refuses_at_once() -> None:
    recorder = Recorder()
    recorder.gate.clear()  # the model call blocks until the test opens the gate

    async def body(batcher: Batcher[str]) -> None:
        first = asyncio.create_task(batcher.submit(["busy"]))
        while not recorder.calls:
            await asyncio.sleep(0.001)
        queued = [asyncio.create_task(batcher.submit([f"q{i}"])) for i in range(3)]
        await asyncio.sleep(0)
        assert batcher.depth == 3
        await refused_at_once(batcher.submit(["one too many"]))
        await refused_at_once(batcher.submit(["x", "y"]))  # all or nothing: two texts do not fit either
        recorder.gate.set()
        assert await first == ["BUSY"]
        assert [await q for q in queued] == [["Q0"], ["Q1"], ["Q2"]]

    run(with_batcher(recorder, body, max_size=4, max_wait_s=0, queue_limit=3))


def test_token_budget_and_size_bound_each_call() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    texts = ["a b c", "d e", "f", "g h i j", "k", "l m n o p q r", "s", "t", "u", "v"]

    async def body(batcher: Batcher[str]) -> None:
        first = asyncio.create_task(batcher.submit(["start"]))
        while not recorder.calls:
            await asyncio.sleep(0.001)
        rest = [asyncio.create_task(batcher.submit([t])) for t in texts]
        await asyncio.sleep(0.01)
        recorder.gate.set()
        await first
        assert [await r for r in rest] == [[t.upper()] for t in texts]

    run(with_batcher(recorder, body, max_size=3, max_tokens=5, max_wait_s=0.01))
    for call in recorder.calls[1:]:
        assert len(call) <= 3
        assert len(call) == 1 or sum(len(t.split()) for t in call) <= 5
    assert ["l m n o p q r"] in recorder.calls  # over budget alone: still tagged, by itself
    assert [t for call in recorder.calls[1:] for t in call] == texts  # first come, first served


def test_a_slow_call_times_out_and_later_requests_still_work() -> None:
    recorder = Recorder()
    recorder.gate.clear()  # the model call is stuck until the test opens the gate

    async def body(batcher: Batcher[str]) -> None:
        slow = asyncio.create_task(batcher.submit(["slow"]))
        while not recorder.calls:
            await asyncio.sleep(0.001)
        queued = asyncio.create_task(batcher.submit(["gives up"]))
        with pytest.raises(InferenceTimeoutError):
            await slow
        with pytest.raises(InferenceTimeoutError):
            await queued
        assert batcher.depth == 0  # the abandoned text left the queue
        assert batcher.busy_for > 0  # the slow call still runs on the model thread
        recorder.gate.set()
        while batcher.busy_for:
            await asyncio.sleep(0.01)
        assert await batcher.submit(["later"]) == ["LATER"]

    run(with_batcher(recorder, body, max_size=4, max_wait_s=0, timeout_s=0.1))
    assert ["gives up"] not in recorder.calls  # nobody waited for it, so the model never ran it


def test_no_wait_mode_still_batches_what_queued_during_a_call() -> None:
    recorder = Recorder()
    recorder.gate.clear()

    async def body(batcher: Batcher[str]) -> None:
        first = asyncio.create_task(batcher.submit(["first"]))
        while not recorder.calls:
            await asyncio.sleep(0.001)
        rest = [asyncio.create_task(batcher.submit([str(i)])) for i in range(5)]
        await asyncio.sleep(0.01)
        recorder.gate.set()
        await first
        await asyncio.gather(*rest)

    run(with_batcher(recorder, body, max_size=32, max_wait_s=0))
    assert recorder.calls == [["first"], ["0", "1", "2", "3", "4"]]


def test_a_lone_request_does_not_wait_for_company() -> None:
    """A window longer than the timeout: a lone request that waited for company would time out."""
    recorder = Recorder()

    async def body(batcher: Batcher[str]) -> list[list[str]]:
        for i in range(3):  # one at a time: straight to the model
            assert await batcher.submit([str(i)]) == [str(i)]
        return await asyncio.gather(*(batcher.submit([f"t{i}"]) for i in range(4)))

    together = run(with_batcher(recorder, body, max_size=4, max_wait_s=60, timeout_s=5))
    assert together == [["T0"], ["T1"], ["T2"], ["T3"]]
    assert recorder.calls == [["0"], ["1"], ["2"], ["t0", "t1", "t2", "t3"]]  # a burst shares one call


def test_max_size_one_turns_batching_off() -> None:
    recorder = Recorder()

    async def body(batcher: Batcher[str]) -> list[list[str]]:
        return await asyncio.gather(*(batcher.submit([str(i)]) for i in range(6)))

    assert run(with_batcher(recorder, body, max_size=1, max_wait_s=0.05)) == [[str(i)] for i in range(6)]
    assert all(len(call) == 1 for call in recorder.calls)


def test_stop_finishes_queued_texts_then_refuses_new_ones() -> None:
    """A window longer than stop's grace: a stop that waited it out would fail the queued texts."""
    recorder = Recorder()

    async def body() -> None:
        batcher: Batcher[str] = Batcher(recorder, max_size=4, max_wait_s=60, timeout_s=10)
        await batcher.start()
        waiting = [asyncio.create_task(batcher.submit([str(i)])) for i in range(3)]
        await asyncio.sleep(0.01)
        await batcher.stop(grace_s=5)  # does not wait out the window: it dispatches at once
        assert [await w for w in waiting] == [["0"], ["1"], ["2"]]
        assert not batcher.running
        with pytest.raises(BatcherClosedError):
            await batcher.submit(["late"])

    run(body())


def test_empty_submit_and_bad_options() -> None:
    async def body(batcher: Batcher[str]) -> list[str]:
        return await batcher.submit([])

    assert run(with_batcher(Recorder(), body)) == []
    with pytest.raises(ValueError, match="positive"):
        Batcher(Recorder(), max_size=0)


# --- admission by cost ----------------------------------------------------------------------------


def test_admission_counts_tokens_not_texts() -> None:
    """At 10 ms a token and 0.8 s of a 1 s timeout, 80 tokens may be ahead of an answer."""
    recorder = Recorder()
    recorder.gate.clear()
    words = lambda n: " ".join(["w"] * n)  # noqa: E731

    async def body(batcher: Batcher[str]) -> None:
        busy = asyncio.create_task(batcher.submit(["busy"]))  # 1 token, running
        while not recorder.calls:
            await asyncio.sleep(0.001)
        costly = asyncio.create_task(batcher.submit([words(50)]))  # 51 tokens ahead: accepted
        await asyncio.sleep(0)
        assert batcher.backlog_s == pytest.approx(0.51)
        await refused_at_once(batcher.submit([words(40)]))  # would make 91
        await refused_at_once(batcher.submit([words(15), words(15)]))  # 81: all or nothing
        cheap = asyncio.create_task(batcher.submit([words(20)]))  # 71: accepted
        await asyncio.sleep(0)
        assert batcher.depth == 2
        recorder.gate.set()
        assert await busy == ["BUSY"]
        assert await costly == [words(50).upper()]
        assert await cheap == [words(20).upper()]

    run(with_batcher(recorder, body, max_wait_s=0, seconds_per_token=0.01, timeout_s=1.0, admit_share=0.8))


def test_a_request_too_costly_even_alone_is_refused_outright() -> None:
    """It would time out (504) with the model to itself: refused at once, and not as "busy"."""

    async def body(batcher: Batcher[str]) -> None:
        with pytest.raises(RequestTooCostlyError, match=r"alone is about 10\.00 s of model work"):
            await batcher.submit([" ".join(["w"] * 1000)])
        assert await batcher.submit([" ".join(["w"] * 70)]) == [" ".join(["W"] * 70)]  # 0.7 s: tried
        many = " ".join(["w"] * 200)  # a small request is never refused so: 2 s alone, but tried
        assert await batcher.submit([many]) == [many.upper()]

    run(with_batcher(Recorder(), body, seconds_per_token=0.01, timeout_s=1.0))


def test_the_cost_estimate_follows_the_model_calls() -> None:
    async def body(batcher: Batcher[str]) -> float:
        assert batcher.cost.per_token == 0.0  # nothing measured: admission by count alone
        await batcher.submit(["a b c"])
        return batcher.cost.per_token

    assert run(with_batcher(Recorder(), body)) > 0.0


def test_texts_given_up_on_leave_the_cost_of_the_queue() -> None:
    recorder = Recorder()
    recorder.gate.clear()

    async def body(batcher: Batcher[str]) -> None:
        busy = asyncio.create_task(batcher.submit(["busy"]))
        while not recorder.calls:
            await asyncio.sleep(0.001)
        waiting = asyncio.create_task(batcher.submit(["x y z"]))
        await asyncio.sleep(0)
        assert batcher.backlog_s == pytest.approx(0.04)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert batcher.backlog_s == pytest.approx(0.01)  # the running call's token only
        recorder.gate.set()
        await busy

    run(with_batcher(recorder, body, max_wait_s=0, seconds_per_token=0.01, timeout_s=5.0))


def test_bad_admission_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="admit_share"):
        Batcher(lambda texts: texts, admit_share=0.0)
    with pytest.raises(ValueError, match="seconds_per_token"):
        Batcher(lambda texts: texts, seconds_per_token=-1.0)


# --- two lanes, in turn ----------------------------------------------------------------------------


def test_a_small_request_overtakes_all_but_one_large_call() -> None:
    recorder = Recorder()
    recorder.gate.clear()

    async def body(batcher: Batcher[str]) -> None:
        busy = asyncio.create_task(batcher.submit(["busy"]))
        while not recorder.calls:
            await asyncio.sleep(0.001)
        large = [asyncio.create_task(batcher.submit([f"{i} " + " ".join(["w"] * 300)])) for i in "12"]
        await asyncio.sleep(0)
        small = asyncio.create_task(batcher.submit(["fly to paris"]))
        await asyncio.sleep(0)
        recorder.gate.set()
        await asyncio.gather(busy, *large, small)
        assert [call[0][:6] for call in recorder.calls] == ["busy", "1 w w ", "fly to", "2 w w "]

    run(with_batcher(recorder, body, max_wait_s=0, max_size=1))


def test_a_small_request_is_admitted_by_the_small_work_ahead_of_it() -> None:
    """At 10 ms a token and 16 s of budget (8 s for large requests): 700 large tokens queued
    would leave no room for a large request of 300, while a small one waits behind the running
    call, small ones, and as many large tokens as small ones (its lane's calls alternate)."""
    recorder = Recorder()
    recorder.gate.clear()
    words = lambda n: " ".join(["w"] * n)  # noqa: E731

    async def body(batcher: Batcher[str]) -> None:
        busy = asyncio.create_task(batcher.submit(["busy"]))
        while not recorder.calls:
            await asyncio.sleep(0.001)
        large = asyncio.create_task(batcher.submit([words(700)]))  # 7.01 s of 8: accepted
        await asyncio.sleep(0)
        small = asyncio.create_task(batcher.submit([words(150)]))  # 1 + 150 + 150 large: 3.01 s
        await asyncio.sleep(0)
        assert batcher.depth == 2
        await refused_at_once(batcher.submit([words(300)]))  # its lane: 1 + 700 + 300, over 8 s
        recorder.gate.set()
        await asyncio.gather(busy, large, small)

    run(with_batcher(recorder, body, max_wait_s=0, seconds_per_token=0.01, timeout_s=20.0, admit_share=0.8))


def test_the_cost_of_a_call_is_a_fixed_part_plus_a_part_per_token() -> None:
    """Short calls' fixed cost must not read as a price per token: after many 3-token calls of
    30 ms, a 1,000-token call of 0.5 s gives each part its own estimate."""
    from slotfill.service.cost import CostModel

    model = CostModel.starting_at(0.01)
    for _ in range(20):
        model.observe(3, 0.030)
    model.observe(1000, 0.5)
    assert model.per_token == pytest.approx(0.00047, rel=0.05)
    assert model.per_call == pytest.approx(0.0286, rel=0.05)
    assert model.seconds(calls=2, tokens=1003) == pytest.approx(0.53, rel=0.05)


def test_with_work_in_both_lanes_they_take_calls_in_turn() -> None:
    """A 64,000-token batch is dozens of calls: served back to back, small requests would wait
    seconds behind it; served only after the small ones, it would time out under steady traffic."""

    async def body(batcher: Batcher[str]) -> list[str]:
        loop = asyncio.get_running_loop()
        small = [_Item(f"s{i}", 1, loop.create_future(), time.monotonic()) for i in range(2)]
        large = [_Item(f"l{i}", 500, loop.create_future(), time.monotonic()) for i in range(3)]
        batcher._small.add(small)
        batcher._large.add(large)
        order = [item.text for _ in range(5) for item in batcher._take()]
        for item in small + large:
            item.future.cancel()
        return order

    batcher: Batcher[str] = Batcher(lambda texts: texts, timeout_s=1.0, max_size=1)
    assert asyncio.run(body(batcher)) == ["l0", "s0", "l1", "s1", "l2"]
