"""Token encoders: how a word becomes numbers, and the registry of them.

Adding an encoder takes a module here with a ``TokenEncoder`` subclass (``base`` says what it
provides), one line in ``ENCODERS`` below, and a ``ModelOptions`` field for each setting it reads
(its ``<name>_dim``, any size). Nothing else names encoders: the settings' choices and help, the
featurizer, the embedder, training and the model folder all iterate over this registry. An
encoder module imports no torch, as the settings and so ``slotfill --help`` import it: its
``table`` takes the embedding from ``tables``, imported when a network is built.

The registry's order is the order in which the encoders' embeddings are concatenated, whatever
order a config lists them in, so saved weights keep their meaning: a new encoder goes last.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from slotfill.model.encoders.base import TokenEncoder
from slotfill.model.encoders.shape import ShapeEncoder
from slotfill.model.encoders.subword import SubwordEncoder
from slotfill.model.encoders.trigram import TrigramEncoder
from slotfill.model.encoders.vocab import WordEncoder

ENCODERS: Mapping[str, type[TokenEncoder]] = MappingProxyType(
    {kind.name: kind for kind in (WordEncoder, TrigramEncoder, SubwordEncoder, ShapeEncoder)}
)


def encoder_class(name: str) -> type[TokenEncoder]:
    """The encoder registered as ``name``; a ValueError listing the known names otherwise."""
    try:
        return ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; the encoders are {', '.join(ENCODERS)}") from None
