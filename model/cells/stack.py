"""Looped cells made bidirectional and deep, over padded batches, as torch's fused modules are.

Layer ``l`` reads the input (``l = 0``) or both directions of layer ``l - 1``, concatenated, with
dropout between layers only (as ``nn.LSTM``'s ``dropout``). The backward direction reads each
utterance reversed within its own length, so it starts at the real last token, never at padding.
Outputs past an utterance's length are zeros, and padding gets no gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from slotfill.model.cells.base import LoopCell

CellFactory = Callable[[int, int], LoopCell]  # (input_size, hidden_size) -> one direction


def reverse_within_lengths(inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T, ...) with each row's first ``length`` steps reversed and its padding left in place.

    Its own inverse.

    >>> reverse_within_lengths(torch.tensor([[1, 2, 3, 0], [4, 5, 6, 7]]), torch.tensor([3, 4])).tolist()
    [[3, 2, 1, 0], [7, 6, 5, 4]]
    """
    steps = torch.arange(inputs.shape[1], device=inputs.device).unsqueeze(0)  # (1, T)
    last = lengths.to(inputs.device).unsqueeze(1) - 1  # (B, 1)
    index = torch.where(steps <= last, last - steps, steps)  # (B, T)
    index = index.view(*index.shape, *([1] * (inputs.dim() - 2))).expand_as(inputs)
    return inputs.gather(1, index)


class LoopLayer(nn.Module):
    """One layer: a cell per direction, each reading the same input."""

    def __init__(self, make_cell: CellFactory, input_size: int, hidden: int, bidirectional: bool) -> None:
        super().__init__()
        count = 2 if bidirectional else 1
        self.directions = nn.ModuleList(make_cell(input_size, hidden) for _ in range(count))

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, input) -> (B, T, directions * hidden), padding positions unspecified."""
        outputs = []
        for number, cell in enumerate(self.directions):
            backward = number == 1
            seen = reverse_within_lengths(inputs, lengths) if backward else inputs
            states = cell(seen.transpose(0, 1)).transpose(0, 1)  # (B, T, H)
            outputs.append(reverse_within_lengths(states, lengths) if backward else states)
        return torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]


class LoopRNN(nn.Module):
    """A stack of ``LoopLayer``s: ``(B, T, input), lengths -> (B, T, directions * hidden)``."""

    def __init__(
        self,
        make_cell: CellFactory,
        input_size: int,
        hidden: int,
        layers: int,
        bidirectional: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        width = hidden * (2 if bidirectional else 1)
        self.layers = nn.ModuleList(
            LoopLayer(make_cell, input_size if index == 0 else width, hidden, bidirectional)
            for index in range(layers)
        )
        self.dropout = dropout if layers > 1 else 0.0

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Outputs are zeros past each row's length; ``lengths`` must be at least 1."""
        if int(lengths.min()) < 1 or int(lengths.max()) > inputs.shape[1]:
            raise ValueError(f"lengths must lie in 1..{inputs.shape[1]}, got {lengths.tolist()}")
        states = inputs
        for index, layer in enumerate(self.layers):
            if index > 0:
                states = F.dropout(states, self.dropout, self.training)
            states = layer(states, lengths)
        steps = torch.arange(inputs.shape[1], device=inputs.device).unsqueeze(0)
        real = (steps < lengths.to(inputs.device).unsqueeze(1)).unsqueeze(2)  # (B, T, 1)
        return torch.where(real, states, torch.zeros((), dtype=states.dtype, device=states.device))
