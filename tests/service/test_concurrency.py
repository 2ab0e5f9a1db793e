"""Concurrent requests share model calls, and every caller gets the answer to its own text."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from slotfill.model.predictor import Predictor

AppFactory = Callable[..., FastAPI]
CITIES = ["taipei", "boston", "denver", "tokyo", "paris", "seattle", "dallas", "london", "miami"]


def utterances(count: int) -> list[str]:
    pick = random.Random(7)
    verbs = ["arrive", "leave", "fly from", "price of flights to", "how much is a ticket from"]
    return [f"{pick.choice(verbs)} {pick.choice(CITIES)} {'!' * i} on day {i}" for i in range(count)]


async def fire(app: FastAPI, singles: list[str], batches: list[list[str]]) -> tuple[list[Any], list[Any]]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://slotfill") as client:
            single = [client.post("/v1/parse", json={"text": t}) for t in singles]
            batch = [client.post("/v1/parse/batch", json={"texts": b}) for b in batches]
            answers = await asyncio.gather(*single, *batch)
    return [r.json() for r in answers[: len(singles)]], [r.json() for r in answers[len(singles) :]]


def test_batched_results_go_back_to_the_right_callers(
    make_app: AppFactory, tiny_predictor: Predictor
) -> None:
    texts = utterances(60)
    singles, rest = texts[:40], texts[40:]
    batches = [rest[i : i + 5] for i in range(0, len(rest), 5)]
    app = make_app(batch_max_size=16, batch_wait_ms=20)
    single_answers, batch_answers = asyncio.run(asyncio.wait_for(fire(app, singles, batches), 30))

    expected = {p.text: p for p in tiny_predictor.parse_batch(texts)}
    for text, answer in zip(singles, single_answers, strict=True):
        assert answer["text"] == text
        assert answer["tags"] == expected[text].tags
        assert [s["value"] for s in answer["slots"]] == [s.value for s in expected[text].slots]
    for sent, answer in zip(batches, batch_answers, strict=True):
        assert [r["text"] for r in answer["results"]] == sent
        assert [r["tags"] for r in answer["results"]] == [expected[t].tags for t in sent]

    registry = app.state.slotfill.metrics.registry
    calls = registry.get_sample_value("slotfill_batch_size_count")
    tagged = registry.get_sample_value("slotfill_batch_size_sum")
    assert tagged == 60
    assert calls < 60 / 4  # gathered into batches, not one model call per text
    assert registry.get_sample_value("slotfill_batch_size_bucket", {"le": "16.0"}) == calls  # never over 16
