"""The Clockwork RNN (Koutnik et al., 2014): hidden modules updated at different periods.

The ``hidden_size`` units are split into modules ``1..g``, as evenly as possible, with periods
``T_1 < ... < T_g`` (``clockwork_periods``, default 1, 2, 4, 8). At step ``t``, counted from 0 at
the direction's first token (so every module reads the first token), module ``i`` is updated only
when ``T_i`` divides ``t``; the others keep their state::

    h_t^i = tanh(W_x^i x_t + sum_{j >= i} U^{ij} h_{t-1}^j + b^i)   if t mod T_i = 0
    h_t^i = h_{t-1}^i                                                 otherwise

Module ``i`` reads the modules at least as slow as itself (``U`` is block upper-triangular with
the fastest module first): slow modules keep a long memory that fast ones consult, and are not
disturbed by them. With one period of 1 this is the Elman network (``rnn``). The encoder emits
``h_t``, all modules. Every step computes all modules and keeps the due ones (one matrix product,
not one per module): simpler and, at these sizes, no slower than skipping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from slotfill.model.cells.base import LoopCell

if TYPE_CHECKING:
    from slotfill.model.config import ModelOptions


def module_sizes(hidden_size: int, modules: int) -> list[int]:
    """Units per module, as even as possible, the larger ones first.

    >>> module_sizes(10, 4)
    [3, 3, 2, 2]
    """
    if not 1 <= modules <= hidden_size:
        raise ValueError(f"{modules} clockwork modules need 1 to hidden_size ({hidden_size}) units")
    base, extra = divmod(hidden_size, modules)
    return [base + (1 if index < extra else 0) for index in range(modules)]


def clockwork_loop(
    projected: torch.Tensor, weight_hh: torch.Tensor, unit_periods: torch.Tensor
) -> torch.Tensor:
    """(T, B, H) input terms ``W_x x_t + b`` -> (T, B, H) states; ``weight_hh`` already masked to
    block upper-triangular, ``unit_periods`` (H,) the period of each unit's module."""
    steps = torch.arange(projected.shape[0], device=projected.device).unsqueeze(1)  # (T, 1)
    due = (steps % unit_periods.unsqueeze(0)) == 0  # (T, H): which units update at each step
    hidden = projected.new_zeros(projected.shape[1], weight_hh.shape[0])  # h_0: (B, H)
    outputs = []
    for step in range(projected.shape[0]):
        candidate = torch.tanh(torch.addmm(projected[step], hidden, weight_hh.t()))
        hidden = torch.where(due[step], candidate, hidden)
        outputs.append(hidden)
    return torch.stack(outputs)


class ClockworkCell(LoopCell):
    def __init__(self, input_size: int, hidden_size: int, periods: Sequence[int] = (1, 2, 4, 8)) -> None:
        super().__init__(input_size, hidden_size)
        if list(periods) != sorted(set(periods)) or min(periods, default=0) < 1:
            raise ValueError(f"clockwork periods must be positive, distinct and ascending, got {periods}")
        sizes = module_sizes(hidden_size, len(periods))
        module = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))  # (H,)
        self.periods = tuple(periods)
        self.connected: torch.Tensor
        self.unit_periods: torch.Tensor
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # W_x
        self.bias = nn.Parameter(torch.empty(hidden_size))  # b
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # U, used masked
        # Fixed by the periods, so not saved: unit j feeds unit i when j's module is as slow as i's.
        self.register_buffer("connected", module.unsqueeze(0) >= module.unsqueeze(1), persistent=False)
        self.register_buffer("unit_periods", torch.tensor(periods)[module], persistent=False)
        self.reset_parameters()

    @classmethod
    def from_options(cls, input_size: int, hidden_size: int, options: ModelOptions) -> LoopCell:
        return cls(input_size, hidden_size, options.clockwork_periods)

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.linear(inputs, self.weight_ih, self.bias)

    def scan(self, projected: torch.Tensor) -> torch.Tensor:
        weight_hh = self.weight_hh * self.connected
        return clockwork_loop(projected, weight_hh, self.unit_periods)
