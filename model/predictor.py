"""Text in, slots out: preprocess (tokenise, featurise) -> infer -> postprocess (spans, offsets).

The one entry point for every consumer: ``slotfill evaluate``, the REST service and batch jobs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch

from slotfill.model.batch import Features, Featurizer, collate
from slotfill.model.device import resolve_device
from slotfill.model.metadata import ModelMetadata
from slotfill.model.prediction import IntentValue, Parse, SlotValue, Tagging
from slotfill.model.spans import slot_confidence, tags_to_spans, trim_punctuation
from slotfill.model.tagger import Tagger, TaggerOutput
from slotfill.model.tokenize import Token, tokenize

if TYPE_CHECKING:
    from slotfill.model.onnx_runtime import OnnxNetwork

Backend = Literal["auto", "torch", "onnx"]
BACKENDS: tuple[Backend, ...] = ("auto", "torch", "onnx")


class Predictor:
    """A loaded tagger on a device, ready to tag token lists or raw text.

    The network's scores come from torch, or from ONNX Runtime when ``network`` is given (the
    folder's ``slotfill export --onnx`` graph); decoding is the torch model's either way.
    """

    def __init__(
        self,
        model: Tagger,
        featurizer: Featurizer,
        device: torch.device | None = None,
        metadata: ModelMetadata | None = None,
        network: OnnxNetwork | None = None,
    ) -> None:
        self.device = device or next(model.parameters()).device
        self.model = model.to(self.device).eval()
        self.featurizer = featurizer
        self.config = model.config
        self.metadata = metadata or ModelMetadata()
        self.network = network
        self._pool: ThreadPoolExecutor | None = None

    @property
    def backend(self) -> str:
        """What computes the network's scores: "onnx" or "torch"."""
        return "onnx" if self.network is not None else "torch"

    @classmethod
    def load(
        cls, path: str | Path, device: str = "auto", backend: Backend = "auto", threads: int | None = None
    ) -> Predictor:
        """Load a model folder written by ``slotfill train`` (safetensors + JSON, never pickle).

        ``backend``: "onnx" runs the folder's exported graph on the CPU (an error if it has none);
        "auto" does so when the folder has one and the device is the CPU, else torch. ``threads``:
        ONNX Runtime's intra-op threads (default: torch's, ``torch.get_num_threads()``).
        """
        from slotfill.model.artifact import load_artifact
        from slotfill.model.onnx_graph import GRAPH

        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; the backends are {', '.join(BACKENDS)}")
        folder = Path(path)
        artifact = load_artifact(folder)
        resolved = resolve_device(device)
        use_onnx = backend == "onnx" or (
            backend == "auto" and resolved.type == "cpu" and (folder / GRAPH).is_file()
        )
        network = None
        if use_onnx:
            if resolved.type != "cpu":
                raise ValueError(f"the onnx backend runs on the CPU, not on {resolved}")
            from slotfill.model.onnx_runtime import load_network

            network = load_network(folder, artifact.featurizer, artifact.metadata.digest, threads)
        return cls(artifact.model, artifact.featurizer, resolved, artifact.metadata, network)

    @property
    def has_intents(self) -> bool:
        return bool(self.config.intents)

    def tag(self, sentences: Sequence[Sequence[str]], batch_size: int = 128) -> list[Tagging]:
        """Tag pre-tokenised sentences; an empty sentence gets no tags and no intent.

        Sentences are sorted by length into calls of at most ``batch_size``. With several calls,
        the network scores the next call's sentences on a second thread while this thread decodes
        the last call's and prepares the next one: the network's kernels (ONNX Runtime, torch)
        run without the interpreter lock, so on two cores the Python work and the arithmetic
        overlap instead of taking turns.
        """
        results: list[Tagging | None] = [None] * len(sentences)
        order = sorted((i for i, s in enumerate(sentences) if s), key=lambda i: len(sentences[i]))
        chunks = [order[begin : begin + batch_size] for begin in range(0, len(order), batch_size)]
        rows = [[sentences[i] for i in chunk] for chunk in chunks]
        for chunk, taggings in zip(chunks, self._tag_calls(rows), strict=True):
            for index, tagging in zip(chunk, taggings, strict=True):
                results[index] = tagging
        return [r if r is not None else Tagging([], []) for r in results]

    def _tag_calls(self, calls: list[list[Sequence[str]]]) -> Iterator[list[Tagging]]:
        """Each call's taggings, in order; the network of call i + 1 runs while call i decodes."""
        if len(calls) < 2:
            yield from (self._tag_batch(sentences) for sentences in calls)
            return
        pool = self._network_thread()
        pending = pool.submit(self._scores, self._features(calls[0]))
        for index, sentences in enumerate(calls):
            upcoming = self._features(calls[index + 1]) if index + 1 < len(calls) else None
            output, mask = pending.result()
            if upcoming is not None:
                pending = pool.submit(self._scores, upcoming)
            yield self._taggings(sentences, output, mask)

    def _network_thread(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slotfill-network")
        return self._pool

    def _tag_batch(self, sentences: Sequence[Sequence[str]]) -> list[Tagging]:
        return self._taggings(sentences, *self._scores(self._features(sentences)))

    def _features(self, sentences: Sequence[Sequence[str]]) -> list[Features]:
        return [self.featurizer.featurize(s) for s in sentences]

    def _scores(self, features: list[Features]) -> tuple[TaggerOutput, torch.Tensor]:
        """The network's scores and the batch's mask (inference mode is per thread: set here)."""
        with torch.inference_mode():
            if self.network is not None:
                return self.network(features)
            batch = collate(features).to(self.device)
            return self.model(batch), batch.mask

    def _taggings(
        self, sentences: Sequence[Sequence[str]], output: TaggerOutput, mask: torch.Tensor
    ) -> list[Tagging]:
        decoded = self.model.decode(output, mask)
        tag_names = self.config.slot_tags
        out = []
        for row, (path, probs) in enumerate(zip(decoded.tags, decoded.tag_probs, strict=True)):
            intent = None
            if decoded.intents is not None and decoded.intent_probs is not None:
                intent = IntentValue(self.config.intents[decoded.intents[row]], decoded.intent_probs[row])
            tags = trim_punctuation([tag_names[i] for i in path], sentences[row])
            out.append(Tagging(tags, probs, intent))
        return out

    def parse(self, text: str) -> Parse:
        """Tokenise raw text, tag it, and give slots with character offsets into ``text``."""
        return self.parse_batch([text])[0]

    def parse_batch(self, texts: Sequence[str], batch_size: int = 128) -> list[Parse]:
        """``parse`` of each text, with at most ``batch_size`` texts (sorted by length) per network
        call: batch jobs choose it, the service's batcher already sends calls of its own size."""
        token_lists = [tokenize(text) for text in texts]
        taggings = self.tag([[t.text for t in tokens] for tokens in token_lists], batch_size)
        return [
            to_parse(text, tokens, tagging)
            for text, tokens, tagging in zip(texts, token_lists, taggings, strict=True)
        ]


def to_parse(text: str, tokens: list[Token], tagging: Tagging) -> Parse:
    """Spans of tokens -> slots with character offsets and their ``slot_confidence``."""
    slots = []
    for span in tags_to_spans(tagging.tags):
        start, end = tokens[span.start].start, tokens[span.end - 1].end
        confidence = slot_confidence(tagging.confidences, span)
        slots.append(SlotValue(span.label, text[start:end], start, end, confidence))
    return Parse(text, tokens, tagging.tags, slots, tagging.intent)
