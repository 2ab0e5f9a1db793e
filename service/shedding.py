"""Refusing a parse request before its body is read, when the model's queue could not take it.

Under overload most requests are refused, and each refusal cost the event loop as much as an
accepted request: read and parse the body, validate it, count its tokens, then answer 503. At
256 clients the loop spent all its time refusing, the model thread waited for the interpreter
lock behind it, the queue drained slowly and stayed full, so refusals fed on themselves: 315
requests served in 8 s against 20,853 refused. When even a one-token request would be refused
(``Batcher.refusal``), the middleware now answers 503 from the request head alone.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Scope

from slotfill.service.errors import RETRY_AFTER, APIError
from slotfill.service.metrics import Metrics
from slotfill.service.state import ServiceState

PARSE_PATHS = frozenset({"/v1/parse", "/v1/parse/batch"})


def shed_when_full(state: ServiceState, metrics: Metrics) -> Callable[[Scope], APIError | None]:
    """``RequestMiddleware``'s ``shed``: a 503 for a parse request the queue cannot take now.

    Such a refusal counts once in ``slotfill_rejected_texts_total{reason="queue_full"}``, whatever
    the number of texts in the body nobody read.
    """

    def shed(scope: Scope) -> APIError | None:
        if scope["method"] != "POST" or scope["path"] not in PARSE_PATHS or state.runtime is None:
            return None
        reason = state.runtime.batcher.refusal()
        if reason is None:
            return None
        scope["state"]["route_template"] = scope["path"]
        metrics.rejected.labels("queue_full").inc()
        return APIError(503, "overloaded", f"too busy: {reason}; retry later", headers=RETRY_AFTER)

    return shed
