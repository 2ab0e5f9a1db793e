"""What a token encoder is: fitted on the training words, turning a token into ids, embedded, saved.

Why an interface: the featurizer, the embedder, training's builder and the model folder used to
name every encoder in if-chains, so a new encoder touched six files. Now they iterate over the
registry (``slotfill.model.encoders.ENCODERS``) and ask each encoder.

Two kinds, by what a token becomes:

- ``IdEncoder``: one id per token, 0 left for padding, read by a lookup table (``nn.Embedding``);
- ``BagEncoder``: a non-empty bag of ids per token, read as the mean of their rows
  (``nn.EmbeddingBag``), so a word of many pieces and a word of one give vectors alike in scale.

What ``fit`` learns from the training words is kept in the model folder, in the files the
encoder names (``files``): JSON, or sentencepiece's own ``.model``, never a pickle (the loader
refuses those). An encoder without files is rebuilt from the settings alone.

The network is built from the settings and each encoder's number of ids (``len``), not from the
encoders themselves, so a tagger can be rebuilt to receive saved weights knowing only those.
The tables come from ``tables``, imported only then: the encoders themselves need no torch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Self

if TYPE_CHECKING:
    from torch import nn

    from slotfill.model.config import ModelOptions

PAD = 0  # the padding id of every IdEncoder, whose table keeps its row at zero


class EncoderStateError(ValueError):
    """Saved encoder state that cannot be used, naming the file at fault."""

    def __init__(self, file: str, reason: str) -> None:
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")


class TokenEncoder(ABC):
    """One way of turning a token into numbers; subclass ``IdEncoder`` or ``BagEncoder``.

    The settings an encoder reads are fields of ``ModelOptions`` named after it
    (``<name>_dim`` and any of its sizes), so they are saved in ``config.json`` and become
    ``slotfill train`` flags with no further code.
    """

    name: ClassVar[str]
    """its name in ``ModelOptions.encoders`` (and ``--encoders``), and of its embedding table"""
    summary: ClassVar[str]
    """what it is, in a few words, for ``slotfill train --help``"""
    files: ClassVar[tuple[str, ...]] = ()
    """the model-folder files its fitted state is kept in (``.json`` or ``.model``)"""
    size_key: ClassVar[str | None] = None
    """the ``config.json`` key recording its number of ids: only the encoders whose size
    ``config.json`` recorded before encoders had this interface (informational, never read back)"""

    @classmethod
    def fit(cls, options: ModelOptions, sentences: Sequence[Sequence[str]]) -> Self:
        """The encoder for the training sentences; by default, one that learns nothing from them."""
        return cls.load(options, {})

    @classmethod
    @abstractmethod
    def load(cls, options: ModelOptions, files: Mapping[str, bytes]) -> Self:
        """Rebuild from the bytes of its ``files``, as ``save`` gave them.

        Raises ``EncoderStateError`` naming a file it cannot use.
        """

    def save(self) -> dict[str, bytes]:
        """Its fitted state: the bytes of each of its ``files``."""
        return {}

    @abstractmethod
    def encode(self, token: str) -> int | tuple[int, ...]:
        """What one token becomes: an id (``IdEncoder``) or a bag of ids (``BagEncoder``)."""

    @abstractmethod
    def __len__(self) -> int:
        """How many ids it produces (padding included): the rows of its embedding table."""

    @classmethod
    @abstractmethod
    def dim(cls, options: ModelOptions) -> int:
        """The width of its embedding: its part of the token vector."""

    @classmethod
    @abstractmethod
    def table(cls, options: ModelOptions, size: int) -> nn.Module:
        """A fresh embedding table of ``size`` rows, ``dim(options)`` wide."""


class IdEncoder(TokenEncoder):
    """One id per token; ``PAD`` (0) is never a token's id."""

    @abstractmethod
    def encode(self, token: str) -> int:
        """The id of one token."""

    @classmethod
    def table(cls, options: ModelOptions, size: int) -> nn.Module:
        from slotfill.model.encoders.tables import id_table

        return id_table(size, cls.dim(options))


class BagEncoder(TokenEncoder):
    """A bag of ids per token, embedded as the mean of their rows."""

    @abstractmethod
    def encode(self, token: str) -> tuple[int, ...]:
        """The ids of one token (never none)."""

    @classmethod
    def table(cls, options: ModelOptions, size: int) -> nn.Module:
        from slotfill.model.encoders.tables import bag_table

        return bag_table(size, cls.dim(options))
