"""Turning token lists into padded tensors for the network.

Featurising (string work in Python) is separate from collating (tensor building) so training can
featurise its corpus once and re-collate cheaply every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from slotfill.model.config import ModelConfig
from slotfill.model.encoders.subword import SubwordModel
from slotfill.model.encoders.trigram import trigram_ids
from slotfill.model.encoders.vocab import Vocabulary


@dataclass(frozen=True, slots=True)
class Features:
    """One utterance's encoder inputs: a word id and, per bag encoder, a tuple of ids per token."""

    word_ids: tuple[int, ...]
    bags: dict[str, tuple[tuple[int, ...], ...]]

    def __len__(self) -> int:
        return len(self.word_ids)


@dataclass(frozen=True)
class Batch:
    """Padded inputs of B utterances of at most T tokens.

    ``bags[name]`` holds the flat piece ids of every real token in row-major (b, t) order and
    the offset where each token's pieces start: the input of ``nn.EmbeddingBag``.
    """

    lengths: torch.Tensor  # (B,) int64, always on the CPU (pack_padded_sequence wants it there)
    mask: torch.Tensor  # (B, T) bool
    word_ids: torch.Tensor  # (B, T) int64, 0 = padding
    bags: dict[str, tuple[torch.Tensor, torch.Tensor]]

    def to(self, device: torch.device) -> Batch:
        bags = {name: (ids.to(device), offs.to(device)) for name, (ids, offs) in self.bags.items()}
        return replace(self, mask=self.mask.to(device), word_ids=self.word_ids.to(device), bags=bags)


class Featurizer:
    """Encodes tokens with the encoders a config names; shared by training and serving."""

    def __init__(self, config: ModelConfig, vocab: Vocabulary, subwords: SubwordModel | None) -> None:
        if "spm" in config.encoders and subwords is None:
            raise ValueError("the config uses the 'spm' encoder but no sentencepiece model was given")
        self.config = config
        self.vocab = vocab
        self.subwords = subwords

    @property
    def subword_size(self) -> int:
        """Size of the subword vocabulary the network embeds (0 without the spm encoder)."""
        return len(self.subwords) if self.subwords is not None else 0

    def featurize(self, tokens: Sequence[str]) -> Features:
        bags: dict[str, tuple[tuple[int, ...], ...]] = {}
        if "trigram" in self.config.encoders:
            buckets = self.config.trigram_buckets
            bags["trigram"] = tuple(trigram_ids(token, buckets) for token in tokens)
        if "spm" in self.config.encoders and self.subwords is not None:
            bags["spm"] = tuple(self.subwords.encode(token) for token in tokens)
        return Features(tuple(self.vocab.encode(tokens)), bags)


def collate(features: Sequence[Features]) -> Batch:
    """Pad a list of featurised utterances (each with at least one token) into one batch."""
    if not features or any(len(f) == 0 for f in features):
        raise ValueError("a batch needs at least one utterance, each of at least one token")
    lengths = torch.tensor([len(f) for f in features], dtype=torch.long)
    width = int(lengths.max())
    word_ids = torch.zeros(len(features), width, dtype=torch.long)
    for row, feature in enumerate(features):
        word_ids[row, : len(feature)] = torch.tensor(feature.word_ids, dtype=torch.long)
    mask = torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)
    bags: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for name in features[0].bags:
        pieces = [piece_ids for f in features for piece_ids in f.bags[name]]
        sizes = torch.tensor([0] + [len(p) for p in pieces[:-1]], dtype=torch.long)
        flat = torch.tensor([i for p in pieces for i in p], dtype=torch.long)
        bags[name] = (flat, torch.cumsum(sizes, 0))
    return Batch(lengths=lengths, mask=mask, word_ids=word_ids, bags=bags)
