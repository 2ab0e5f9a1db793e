"""The embedding tables token encoders ask for, apart from the encoders because they need torch.

The encoders and their registry import no torch: the settings (``ModelOptions``) list the
registered encoders, and ``slotfill --help`` reads the settings without loading torch. An
encoder's ``table`` imports this module when a network is built.
"""

from __future__ import annotations

import torch
from torch import nn

from slotfill.model.encoders.base import PAD


def id_table(size: int, dim: int) -> nn.Embedding:
    """One row per id; the ``PAD`` row stays zero."""
    return nn.Embedding(size, dim, padding_idx=PAD)


def bag_table(size: int, dim: int) -> nn.EmbeddingBag:
    """One row per id, a token's vector the mean of its ids' rows."""
    return nn.EmbeddingBag(size, dim, mode="mean")


class DropoutEmbedding(nn.Embedding):
    """An id table that, in training, reads a share (``dropout``) of real ids as ``other``, so
    that the ``other`` row learns what to do with an id it stands for (a word never seen)."""

    def __init__(self, size: int, dim: int, dropout: float, other: int) -> None:
        super().__init__(size, dim, padding_idx=PAD)
        self.dropout = dropout
        self.other = other

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, dim)."""
        if self.training and self.dropout > 0:
            drop = (torch.rand_like(ids, dtype=torch.float) < self.dropout) & (ids != PAD)
            ids = ids.masked_fill(drop, self.other)
        return super().forward(ids)
