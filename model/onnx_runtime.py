"""Running the exported graph (``model.onnx_graph``) with ONNX Runtime instead of torch.

Why: at one short utterance, the network's arithmetic takes a small share of torch's time; the
rest is the price of dispatching each of its few dozen operators from Python. ONNX Runtime runs
the whole graph in one call, with fused recurrent kernels, so a chatbot's single message costs a
fraction (BENCHMARKS.md, "Inference speed"). The CRF decoding stays with the torch model's tables,
so both backends decode alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from slotfill.model.batch import Features, Featurizer
from slotfill.model.encoders.base import BagEncoder
from slotfill.model.onnx_graph import EMISSIONS, GRAPH, INTENTS, RECORD, RECORD_FORMAT, input_names
from slotfill.model.tagger import TaggerOutput


class OnnxNetwork:
    """The network's scores for a list of featurised utterances, from an ONNX Runtime session."""

    def __init__(self, path: Path, featurizer: Featurizer, threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # As many threads as torch would use, unless told: the service sets one per worker.
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.names = input_names(featurizer)
        expected = {node.name for node in self.session.get_inputs()}
        if expected != set(self.names):
            raise ValueError(
                f"{path.name} takes the inputs {', '.join(sorted(expected))}, "
                f"but this model's encoders give {', '.join(self.names)}"
            )
        self.bags = [isinstance(encoder, BagEncoder) for encoder in featurizer.encoders.values()]
        self.encoder_names = list(featurizer.encoders)
        self.outputs = [node.name for node in self.session.get_outputs()]

    def __call__(self, features: Sequence[Features]) -> tuple[TaggerOutput, torch.Tensor]:
        """Scores for ``features`` (each of at least one token) and the batch's mask."""
        lengths = np.fromiter((len(f) for f in features), dtype=np.int64, count=len(features))
        width = int(lengths.max())
        feed: dict[str, np.ndarray] = {}
        for name, is_bag in zip(self.encoder_names, self.bags, strict=True):
            if len(features) == 1:  # a chatbot's message: no padding to place
                if is_bag:
                    feed[f"{name}_ids"], feed[f"{name}_weights"] = _one_row_of_bags(features[0].bags[name])
                else:
                    feed[f"{name}_ids"] = np.array([features[0].ids[name]], dtype=np.int64)
            elif is_bag:
                feed[f"{name}_ids"], feed[f"{name}_weights"] = _bags([f.bags[name] for f in features], width)
            else:
                ids = np.zeros((len(features), width), dtype=np.int64)
                for row, feature in enumerate(features):
                    ids[row, : len(feature)] = feature.ids[name]
                feed[f"{name}_ids"] = ids
        feed["lengths"] = lengths
        results = dict(zip(self.outputs, self.session.run(self.outputs, feed), strict=True))
        mask = torch.from_numpy(np.arange(width)[None, :] < lengths[:, None])
        intents = results.get(INTENTS)
        output = TaggerOutput(
            torch.from_numpy(results[EMISSIONS]), torch.from_numpy(intents) if intents is not None else None
        )
        return output, mask


def load_network(
    folder: Path, featurizer: Featurizer, weights_digest: str, threads: int | None = None
) -> OnnxNetwork:
    """The folder's exported graph, checked against its record and the weights it came from.

    Raises ``ArtifactError`` naming the file when the graph is missing, altered, or was exported
    from other weights than those of ``weights_digest`` (the folder was retrained since).
    """
    from slotfill.model.artifact import WEIGHTS, ArtifactError, sha256_file

    record_path, graph = folder / RECORD, folder / GRAPH
    if not graph.is_file() or not record_path.is_file():
        raise ArtifactError(graph, "no ONNX export here; run `slotfill export MODEL_DIR --onnx` first")
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        files = record["files"]
        if record["format"] != RECORD_FORMAT:
            raise ValueError(f"format {record['format']!r} is not {RECORD_FORMAT!r}")
        exported_from, graph_digest = str(files[WEIGHTS]), str(files[GRAPH])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise ArtifactError(record_path, f"not an ONNX export record ({error})") from None
    if exported_from != weights_digest:
        raise ArtifactError(
            graph, f"exported from other weights than this folder's {WEIGHTS}; export it again"
        )
    if sha256_file(graph) != graph_digest:
        raise ArtifactError(graph, f"changed since export (SHA-256 differs from {RECORD})")
    try:
        return OnnxNetwork(graph, featurizer, threads)
    except Exception as error:  # onnxruntime's errors derive from Exception alone
        raise ArtifactError(graph, f"ONNX Runtime cannot run it: {error}") from None


def _bags(rows: Sequence[tuple[tuple[int, ...], ...]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded (B, T, P) piece ids and the weight of each (1/n for a token of n pieces, 0 padding)."""
    bags = [bag for row in rows for bag in row]
    sizes = np.fromiter(map(len, bags), dtype=np.int64, count=len(bags))
    pieces = int(sizes.max())
    # Every token's pieces, flat, and where each lands in the (B, T, P) block.
    flat = np.fromiter((i for bag in bags for i in bag), dtype=np.int64, count=int(sizes.sum()))
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    token_rows = np.repeat(np.arange(len(rows)), lengths)
    token_cols = np.arange(len(bags)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    starts = np.cumsum(sizes) - sizes
    slots = np.arange(len(flat)) - np.repeat(starts, sizes)
    ids = np.zeros((len(rows), width, pieces), dtype=np.int64)
    weights = np.zeros((len(rows), width, pieces), dtype=np.float32)
    ids[np.repeat(token_rows, sizes), np.repeat(token_cols, sizes), slots] = flat
    weights[np.repeat(token_rows, sizes), np.repeat(token_cols, sizes), slots] = np.repeat(1.0 / sizes, sizes)
    return ids, weights


def _one_row_of_bags(row: tuple[tuple[int, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
    """``_bags`` of a single utterance, built from padded lists: a third less time on one row."""
    pieces = max(map(len, row))
    ids = np.array([[*bag, *(0,) * (pieces - len(bag))] for bag in row], dtype=np.int64)
    weights = [[1.0 / len(bag)] * len(bag) + [0.0] * (pieces - len(bag)) for bag in row]
    return ids[None], np.array(weights, dtype=np.float32)[None]
