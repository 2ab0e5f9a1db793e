"""What a looped cell provides: one direction of one layer, as an input projection and a time loop.

torch has fused kernels for the Elman RNN, the LSTM and the GRU only. The other cells of the
lecture run a loop written here, split in two so the loop does as little as possible:

- ``project``: every step's input terms (``W x_t + b`` for each gate) in one matrix product over
  the whole batch, ``(T, B, I) -> (T, B, G)``;
- ``scan``: the time loop over those projections, ``(T, B, G) -> (T, B, H)``, from a zero state.

``scan`` sees no lengths: ``model.cells.stack`` reverses each utterance within its length for the
backward direction, so padding always comes after an utterance's last token and only ever reaches
outputs that are then zeroed. A cell's loop is a plain function of tensors (weights passed in), so
autograd, ``torch.jit.script`` and ``torch.compile`` all take it as it is; ``bench/cells.py``
measured all three and the eager loop is what runs (README, "Recurrent cells").
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from slotfill.model.config import ModelOptions


class LoopCell(nn.Module, ABC):
    """One direction of one layer; its output at each step is ``hidden_size`` wide."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"sizes must be positive: input {input_size}, hidden {hidden_size}")
        self.input_size = input_size
        self.hidden_size = hidden_size

    @classmethod
    def from_options(cls, input_size: int, hidden_size: int, options: ModelOptions) -> LoopCell:
        """The cell as the settings ask for it (a cell with settings of its own reads them here)."""
        return cls(input_size, hidden_size)

    def reset_parameters(self) -> None:
        """torch's start for its recurrent modules: every weight uniform in +-1/sqrt(hidden)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    @abstractmethod
    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        """(T, B, input_size) -> (T, B, G): the input terms of every step at once."""

    @abstractmethod
    def scan(self, projected: torch.Tensor) -> torch.Tensor:
        """(T, B, G) -> (T, B, hidden_size): the loop over time, starting from a zero state."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(T, B, input_size) -> (T, B, hidden_size)."""
        return self.scan(self.project(inputs))
