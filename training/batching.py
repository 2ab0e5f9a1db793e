"""Length-bucketed batch order: similar lengths share a batch, so little time goes to padding."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator, pool: int = 50
) -> list[list[int]]:
    """Shuffle, sort within pools of ``pool`` batches by length, cut, then shuffle the batches.

    >>> g = torch.Generator().manual_seed(0)
    >>> batches = bucketed_batches([3, 1, 2, 5, 4], 2, g)
    >>> sorted(i for b in batches for i in b)
    [0, 1, 2, 3, 4]
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    batches: list[list[int]] = []
    span = batch_size * pool
    for begin in range(0, len(order), span):
        group = sorted(order[begin : begin + span], key=lambda i: lengths[i])
        batches.extend(group[i : i + batch_size] for i in range(0, len(group), batch_size))
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]
