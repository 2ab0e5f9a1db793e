"""The per-token input vector: the chosen encoders' embeddings, concatenated."""

from __future__ import annotations

import torch
from torch import nn

from slotfill.model.batch import Batch
from slotfill.model.config import ModelConfig
from slotfill.model.encoders.vocab import OTHER, PAD


class TokenEmbedder(nn.Module):
    """word (1-of-N lookup), trigram and spm (mean of piece embeddings per word), concatenated."""

    def __init__(self, config: ModelConfig, vocab_size: int, subword_size: int) -> None:
        super().__init__()
        self.word_dropout = config.word_dropout
        self.use_word = "word" in config.encoders
        self.word = nn.Embedding(vocab_size, config.word_dim, padding_idx=PAD) if self.use_word else None
        self.bags = nn.ModuleDict()
        if "trigram" in config.encoders:
            self.bags["trigram"] = nn.EmbeddingBag(config.trigram_buckets, config.trigram_dim, mode="mean")
        if "spm" in config.encoders:
            self.bags["spm"] = nn.EmbeddingBag(subword_size, config.spm_dim, mode="mean")
        bag_dims = {"trigram": config.trigram_dim, "spm": config.spm_dim}
        self.output_dim = (config.word_dim if self.use_word else 0) + sum(
            bag_dims[name] for name in self.bags
        )

    def forward(self, batch: Batch) -> torch.Tensor:
        parts: list[torch.Tensor] = []
        if self.word is not None:
            ids = batch.word_ids
            if self.training and self.word_dropout > 0:
                # Replace random real words by "other" so the "other" embedding gets trained.
                drop = (torch.rand_like(ids, dtype=torch.float) < self.word_dropout) & batch.mask
                ids = ids.masked_fill(drop, OTHER)
            parts.append(self.word(ids))  # (B, T, word_dim)
        for name, bag in self.bags.items():
            flat, offsets = batch.bags[name]
            pooled = bag(flat, offsets)  # (tokens, dim)
            dense = pooled.new_zeros(*batch.mask.shape, pooled.shape[-1])
            dense[batch.mask] = pooled
            parts.append(dense)  # (B, T, dim)
        return torch.cat(parts, dim=-1)
