"""Prometheus metrics of one service process, in a registry of its own (one per app, so tests and
several apps in one process never collide).

With ``--workers N`` every worker process keeps its own numbers and a scrape sees one of them;
aggregating across workers (prometheus-client's multiprocess mode) is not done.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    """The counters, gauges and histograms the service updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "slotfill_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "slotfill_http_request_duration_seconds",
            "Time from request to response, by method, route template and status code",
            ("method", "route", "status"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "slotfill_batch_size",
            "Texts per model call",
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.batch_tokens = Histogram(
            "slotfill_batch_tokens",
            "Tokens per model call",
            buckets=(8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192),
            registry=self.registry,
        )
        self.inference = Histogram(
            "slotfill_model_inference_seconds",
            "Time of one model call (preprocess, network, postprocess), as the batcher saw it",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "slotfill_queue_depth", "Texts waiting for the model", registry=self.registry
        )
        self.rejected = Counter(
            "slotfill_rejected",
            "Texts refused or dropped: queue_full, timeout, shutting_down, inference_error",
            ("reason",),
            registry=self.registry,
        )
        self.model_info = Gauge(
            "slotfill_model_info",
            "The loaded model (always 1)",
            ("model_id", "version"),
            registry=self.registry,
        )

    def watch_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(lambda: float(depth()))

    def observe_batch(self, size: int, tokens: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_tokens.observe(tokens)
        self.inference.observe(seconds)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
