"""int8 weights for an exported graph: ONNX Runtime's dynamic quantization, an export option.

Why an option and not the default: it trades a little accuracy for speed. The weights of every
matrix product (the LSTM's included) become int8 with one scale each, and activations are
quantized on the fly; the graph is a quarter of the size, a chatbot's single message runs about a
sixth faster and batches a third faster (BENCHMARKS.md, "Inference speed"). On the bundled model
test slot F1 did not move and the held-out "unseen" split lost 0.15; a model with more tags may
lose more, so measure yours (``slotfill evaluate``) before serving it. Embedding tables stay
float32 (a gather does no arithmetic to speed up). Integer kernels differ between CPUs (AVX2,
AVX-512 VNNI), so scores, and rarely a tag, may differ from one machine to another in a way
float32 scores do not.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

QUANTIZED = "int8"


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """The quantizer advises pre-processing on the root logger at every call; nothing to act on."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_int8(source: Path, target: Path) -> None:
    """Write ``source``'s graph to ``target`` with int8 weights (dynamic quantization)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
