"""What the lifespan builds and the routes use: the loaded model, its batcher and its metrics."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from slotfill.model.artifact import ArtifactError
from slotfill.model.prediction import Parse
from slotfill.model.predictor import Predictor
from slotfill.service.batcher import Batcher
from slotfill.service.metrics import Metrics
from slotfill.service.schemas import EXAMPLE_TEXT, ModelRef
from slotfill.service.settings import Settings
from slotfill.service.token_count import count_tokens

logger = logging.getLogger("slotfill.service")


def model_ref(predictor: Predictor) -> ModelRef:
    """The model's id (folder name) and version (short weights digest) as the API reports them."""
    meta = predictor.metadata
    return ModelRef(id=meta.id, version=meta.version, created=meta.created)


@dataclass(frozen=True)
class Runtime:
    """A loaded, warmed-up model and the batcher in front of it."""

    predictor: Predictor
    batcher: Batcher[Parse]
    ref: ModelRef


class ServiceState:
    """Lives in ``app.state.slotfill``; ``runtime`` is None until the lifespan has loaded the model."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        preloaded: Predictor | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.runtime: Runtime | None = None
        self._preloaded = preloaded
        self._on_ready = on_ready

    async def start(self) -> None:
        """Load (unless preloaded) and warm up the model, then start the batcher in front of it."""
        begun = time.perf_counter()
        torch.set_num_threads(self.settings.torch_threads)
        predictor = self._preloaded or await self._load()
        self._preloaded = None
        # Warm-up: the first calls allocate memory and pick kernels; no request should wait for that.
        # The later ones, timed at two sizes, give admission its first estimate of the cost of a
        # call and of a token: one size alone read the fixed cost of a call as a price per token,
        # and a loaded machine's start-up then refused a first 1,200-token batch as too costly.
        large = min(8, self.settings.batch_max_size)
        timed: list[tuple[int, float]] = []
        for size in (1, large, 1, large, 1):
            warm = time.perf_counter()
            await asyncio.to_thread(predictor.parse_batch, [EXAMPLE_TEXT] * size)
            timed.append((size * count_tokens(EXAMPLE_TEXT), time.perf_counter() - warm))
        # Everything alive now (the model, torch, the app) lives as long as the process: move it out
        # of the garbage collector's view, so its full collections stop rescanning it mid-request.
        gc.collect()
        gc.freeze()
        batcher = self._batcher(predictor)
        for tokens, seconds in timed[2:]:
            batcher.cost.observe(tokens, seconds)
        await batcher.start()
        ref = model_ref(predictor)
        self.metrics.watch_queue(lambda: batcher.depth)
        self.metrics.model_info.labels(ref.id, ref.version).set(1)
        self.runtime = Runtime(predictor, batcher, ref)
        logger.info(
            "model %s (version %s) ready on %s (%s backend) in %.2f s",
            ref.id,
            ref.version,
            predictor.device,
            predictor.backend,
            time.perf_counter() - begun,
            extra={
                "model_id": ref.id,
                "version": ref.version,
                "device": str(predictor.device),
                "backend": predictor.backend,
            },
        )
        if self._on_ready is not None:
            self._on_ready()

    async def _load(self) -> Predictor:
        try:
            settings = self.settings
            return await asyncio.to_thread(
                Predictor.load, settings.model_path, settings.device, settings.backend, settings.torch_threads
            )
        except (ArtifactError, ValueError) as error:
            logger.error("cannot load the model: %s", error)
            raise

    def _batcher(self, predictor: Predictor) -> Batcher[Parse]:
        settings = self.settings
        return Batcher(
            predictor.parse_batch,
            max_size=settings.batch_max_size,
            max_tokens=settings.batch_max_tokens,
            max_wait_s=settings.batch_wait_ms / 1000,
            queue_limit=settings.queue_limit,
            timeout_s=settings.request_timeout_s,
            count_tokens=count_tokens,
            on_batch=self.metrics.observe_batch,
        )

    async def stop(self) -> None:
        """Finish queued texts, then release the model thread (uvicorn has drained the requests)."""
        if self.runtime is not None:
            await self.runtime.batcher.stop(grace_s=self.settings.request_timeout_s)
            logger.info("model %s stopped", self.runtime.ref.id)
