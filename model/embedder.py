"""The per-token input vector: the chosen encoders' embeddings, concatenated."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from slotfill.model.batch import Batch
from slotfill.model.config import ModelConfig
from slotfill.model.encoders import ENCODERS
from slotfill.model.encoders.base import BagEncoder


class TokenEmbedder(nn.Module):
    """Each configured encoder's table, read per token and concatenated in the registry's order.

    ``sizes`` gives each encoder's number of ids (``Featurizer.sizes``). The parameter names are
    those saved models have always had: a one-id-per-token table is the attribute named after its
    encoder (``embedder.word.weight``), a bag table sits in ``bags`` (``embedder.bags.trigram.weight``).
    The tables are created in the registry's order too, so a seed gives the same initial weights.
    """

    def __init__(self, config: ModelConfig, sizes: Mapping[str, int]) -> None:
        super().__init__()
        missing = [name for name in config.encoders if name not in sizes]
        if missing:
            raise ValueError(f"no number of ids given for the encoders {', '.join(missing)}")
        self.names = [name for name in ENCODERS if name in config.encoders]
        bags: dict[str, nn.Module] = {}
        for name in self.names:
            kind = ENCODERS[name]
            table = kind.table(config, sizes[name])
            if issubclass(kind, BagEncoder):
                bags[name] = table
            else:
                self.add_module(name, table)
        self.bags = nn.ModuleDict(bags)
        self.output_dim = sum(ENCODERS[name].dim(config) for name in self.names)

    def table(self, name: str) -> nn.Module:
        """The embedding table of encoder ``name``."""
        return self.bags[name] if name in self.bags else self.get_submodule(name)

    def forward(self, batch: Batch) -> torch.Tensor:
        parts: list[torch.Tensor] = []
        for name in self.names:
            if name in self.bags:
                flat, offsets = batch.bags[name]
                pooled = self.bags[name](flat, offsets)  # (tokens, dim)
                dense = pooled.new_zeros(*batch.mask.shape, pooled.shape[-1])
                dense[batch.mask] = pooled
                parts.append(dense)  # (B, T, dim)
            else:
                parts.append(self.table(name)(batch.ids[name]))  # (B, T, dim)
        return torch.cat(parts, dim=-1)
