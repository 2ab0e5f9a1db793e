"""The one typed configuration a tagger is built from and saved with.

A frozen dataclass rather than constructor flags: the same object builds the network, is written
to ``config.json`` beside the weights, and is read back to rebuild exactly the same network.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from slotfill.model.spans import split_tag

Cell = Literal["lstm", "gru", "rnn", "irnn"]
ENCODERS = ("word", "trigram", "spm")
INTENT_POOLINGS = ("attention", "maxmean")
WEIGHTS_DTYPES = ("float16", "float32")
_POSITIVE_INTS = (
    "word_dim",
    "word_min_freq",
    "trigram_dim",
    "trigram_buckets",
    "spm_dim",
    "spm_vocab_size",
    "hidden_size",
    "num_layers",
    "members",
)
CELLS: tuple[Cell, ...] = ("lstm", "gru", "rnn", "irnn")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a tagger's network, labels included."""

    slot_tags: tuple[str, ...]
    intents: tuple[str, ...] = ()
    encoders: tuple[str, ...] = ("word", "trigram")
    # word: 1-of-N over the training vocabulary, id 1 is "other"; dropout teaches "other".
    word_dim: int = 100
    word_min_freq: int = 1
    word_dropout: float = 0.1
    # trigram: letter trigrams of "#word#" hashed into buckets and averaged per word.
    trigram_dim: int = 100
    trigram_buckets: int = 20_000
    # spm: sentencepiece pieces of each word, averaged per word.
    spm_dim: int = 64
    spm_vocab_size: int = 1000
    cell: Cell = "lstm"
    hidden_size: int = 200
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.3
    crf: bool = True
    intent_pooling: str = "attention"
    # Every word also scores the intent; the utterance's score adds the mean vote (model.intent).
    # Off by default: it raised dev scores but lowered held-out and test slot F1 (BENCHMARKS.md).
    intent_token_votes: bool = False
    # Compound intents ("a#b") share the scores of their parts; "" treats every label as atomic.
    intent_separator: str = "#"
    # Confidence calibration (training.temperature): slot and intent scores are divided by these
    # before they become probabilities. Fitted on dev after training; 1 leaves them as trained.
    # Dividing every score by one positive number changes no prediction, only the confidences.
    slot_temperature: float = 1.0
    intent_temperature: float = 1.0
    # Networks trained apart (seeds seed, seed+1, ...) whose scores are averaged (model.ensemble).
    # Set by training from its ``members`` setting, like the temperatures.
    members: int = 1
    # Precision of the weights in model.safetensors. float16 halves the folder (an ensemble of two
    # ATIS networks fits in 12 MB) and, rounded before scoring, changed no dev or held-out score.
    weights_dtype: str = "float16"

    def __post_init__(self) -> None:
        unknown = [name for name in self.encoders if name not in ENCODERS]
        if not self.encoders or unknown:
            raise ValueError(f"encoders must be a non-empty subset of {ENCODERS}, got {self.encoders}")
        if len(set(self.encoders)) != len(self.encoders):
            raise ValueError(f"encoders repeat a name: {self.encoders}")
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
        self._check_labels()
        for name in _POSITIVE_INTS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        for name in ("dropout", "word_dropout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        if self.intent_pooling not in INTENT_POOLINGS:
            raise ValueError(f"intent_pooling must be one of {INTENT_POOLINGS}, got {self.intent_pooling!r}")
        if self.weights_dtype not in WEIGHTS_DTYPES:
            raise ValueError(f"weights_dtype must be one of {WEIGHTS_DTYPES}, got {self.weights_dtype!r}")
        if not isinstance(self.intent_separator, str):
            raise ValueError(f"intent_separator must be a string, got {self.intent_separator!r}")
        for name in ("slot_temperature", "intent_temperature"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 < value < math.inf:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("bidirectional", "crf", "intent_token_votes"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")

    def _check_labels(self) -> None:
        if "O" not in self.slot_tags:
            raise ValueError("slot_tags must hold 'O' and the B-/I- tags of the data")
        for labels, name in ((self.slot_tags, "slot_tags"), (self.intents, "intents")):
            if len(set(labels)) != len(labels) or not all(isinstance(x, str) and x for x in labels):
                raise ValueError(f"{name} must be distinct non-empty strings")
        for tag in self.slot_tags:
            try:
                split_tag(tag)
            except ValueError as error:
                raise ValueError(f"slot_tags: {error}") from None

    @property
    def encoder_dim(self) -> int:
        """Width of the recurrent layer's output per token."""
        return self.hidden_size * (2 if self.bidirectional else 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from JSON, refusing keys this version does not know (a newer artifact).

        Missing keys take the defaults; a setting added later defaults to what older artifacts
        were built without (``intent_token_votes`` off, one member), so they load unchanged. Their
        weights were kept in float32.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model settings {unknown}")
        values = {"weights_dtype": "float32", **data}
        for name in ("slot_tags", "intents", "encoders"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)
