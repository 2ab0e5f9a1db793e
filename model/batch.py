"""Turning token lists into padded tensors for the network.

Featurising (string work in Python) is separate from collating (tensor building) so training can
featurise its corpus once and re-collate cheaply every epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import torch

from slotfill.model.config import ModelConfig
from slotfill.model.encoders import ENCODERS, encoder_class
from slotfill.model.encoders.base import BagEncoder, IdEncoder, TokenEncoder

# Tokens whose encodings ``Featurizer.featurize`` keeps (emptied when full: a few tens of MB at most).
CACHE_TOKENS = 100_000


@dataclass(frozen=True, slots=True)
class Features:
    """One utterance's encoder inputs, by encoder name: an id per token from each ``IdEncoder``,
    a tuple of ids per token from each ``BagEncoder``."""

    ids: dict[str, tuple[int, ...]]
    bags: dict[str, tuple[tuple[int, ...], ...]]

    def __len__(self) -> int:
        return len(next(iter([*self.ids.values(), *self.bags.values()]), ()))


@dataclass(frozen=True)
class Batch:
    """Padded inputs of B utterances of at most T tokens.

    ``ids[name]`` holds an ``IdEncoder``'s ids, 0 (padding) past each utterance's end.
    ``bags[name]`` holds a ``BagEncoder``'s flat piece ids of every real token in row-major (b, t)
    order and the offset where each token's pieces start: the input of ``nn.EmbeddingBag``.
    """

    lengths: torch.Tensor  # (B,) int64, always on the CPU (pack_padded_sequence wants it there)
    mask: torch.Tensor  # (B, T) bool
    ids: dict[str, torch.Tensor]  # (B, T) int64 each
    bags: dict[str, tuple[torch.Tensor, torch.Tensor]]

    def to(self, device: torch.device) -> Batch:
        ids = {name: tensor.to(device) for name, tensor in self.ids.items()}
        bags = {name: (flat.to(device), offs.to(device)) for name, (flat, offs) in self.bags.items()}
        return replace(self, mask=self.mask.to(device), ids=ids, bags=bags)


class Featurizer:
    """Encodes tokens with the encoders a config names; shared by training and serving."""

    def __init__(self, config: ModelConfig, encoders: Iterable[TokenEncoder]) -> None:
        given = {encoder.name: encoder for encoder in encoders}
        for encoder in given.values():
            if not isinstance(encoder, IdEncoder | BagEncoder):
                raise TypeError(f"encoder {encoder.name!r} is neither an IdEncoder nor a BagEncoder")
        if set(given) != set(config.encoders):
            raise ValueError(
                f"the config's encoders are {', '.join(config.encoders)}, "
                f"but {', '.join(given) or 'none'} were given"
            )
        self.config = config
        # In the registry's order, the order of their embeddings in the network.
        self.encoders = {name: given[name] for name in ENCODERS if name in given}
        self._cache: dict[str, tuple[int | tuple[int, ...], ...]] = {}

    @classmethod
    def fit(cls, config: ModelConfig, sentences: Sequence[Sequence[str]]) -> Featurizer:
        """Fit the config's encoders on the training sentences (a vocabulary, a subword model)."""
        return cls(config, [encoder_class(name).fit(config, sentences) for name in config.encoders])

    @classmethod
    def load(cls, config: ModelConfig, read: Callable[[str], bytes]) -> Featurizer:
        """Rebuild the config's encoders from what ``save`` gave, ``read`` returning a file's bytes.

        A file an encoder cannot use raises ``EncoderStateError`` naming it.
        """
        encoders = []
        for name in config.encoders:
            kind = encoder_class(name)
            encoders.append(kind.load(config, {file: read(file) for file in kind.files}))
        return cls(config, encoders)

    def save(self) -> dict[str, bytes]:
        """The encoders' fitted state, as the bytes of each model-folder file."""
        return {file: data for encoder in self.encoders.values() for file, data in encoder.save().items()}

    @property
    def sizes(self) -> dict[str, int]:
        """Each encoder's number of ids: the rows of its table in the network."""
        return {name: len(encoder) for name, encoder in self.encoders.items()}

    def featurize(self, tokens: Sequence[str]) -> Features:
        """Every encoder's ids for ``tokens``, each token's looked up once in a bounded cache.

        Words repeat (a corpus's most frequent thousand cover most of its tokens), and encoding
        one asks every encoder in turn: normalising, a vocabulary lookup, its trigrams, its shape.
        Cached by the token's text, which alone decides what every encoder gives.
        """
        cache = self._cache
        encoded = []
        for token in tokens:
            found = cache.get(token)
            if found is None:
                if len(cache) >= CACHE_TOKENS:
                    cache.clear()
                found = cache[token] = tuple(encoder.encode(token) for encoder in self.encoders.values())
            encoded.append(found)
        ids: dict[str, tuple[int, ...]] = {}
        bags: dict[str, tuple[tuple[int, ...], ...]] = {}
        for position, (name, encoder) in enumerate(self.encoders.items()):
            column = tuple(row[position] for row in encoded)
            if isinstance(encoder, BagEncoder):
                bags[name] = column  # type: ignore[assignment]
            else:
                ids[name] = column  # type: ignore[assignment]
        return Features(ids, bags)


def collate(features: Sequence[Features]) -> Batch:
    """Pad a list of featurised utterances (each with at least one token) into one batch."""
    if not features or any(len(f) == 0 for f in features):
        raise ValueError("a batch needs at least one utterance, each of at least one token")
    lengths = torch.tensor([len(f) for f in features], dtype=torch.long)
    width = int(lengths.max())
    ids: dict[str, torch.Tensor] = {}
    for name in features[0].ids:
        padded = torch.zeros(len(features), width, dtype=torch.long)  # 0 is every IdEncoder's padding
        for row, feature in enumerate(features):
            padded[row, : len(feature)] = torch.tensor(feature.ids[name], dtype=torch.long)
        ids[name] = padded
    mask = torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)
    bags: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for name in features[0].bags:
        pieces = [piece_ids for f in features for piece_ids in f.bags[name]]
        sizes = torch.tensor([0] + [len(p) for p in pieces[:-1]], dtype=torch.long)
        flat = torch.tensor([i for p in pieces for i in p], dtype=torch.long)
        bags[name] = (flat, torch.cumsum(sizes, 0))
    return Batch(lengths=lengths, mask=mask, ids=ids, bags=bags)
