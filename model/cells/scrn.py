"""The Structurally Constrained Recurrent Network (Mikolov et al., 2015): a slowly changing
context state beside the fast hidden state.

Per direction, the ``hidden_size`` units are a context state ``s`` (``scrn_context_share`` of
them, at least one) and a fast state ``h`` (the rest); ``sigma`` is the logistic function,
``alpha = 0.95`` as in the paper, ``s_0 = h_0 = 0``::

    s_t = (1 - alpha) B x_t + alpha s_{t-1}          context: a moving average of the input
    h_t = sigma(P s_t + A x_t + R h_{t-1} + b)        fast state, which also reads the context

The encoder emits ``[h_t; s_t]``: the paper's output layer, ``y_t = f(U h_t + V s_t)``, is the
tagger's slot head over both. The context's recurrence is the fixed ``alpha`` (the paper's
constrained diagonal), so it cannot learn to forget quickly and holds a memory over many steps.
The context loop has no matrix product, and ``P s_t`` is one product over all steps before the
fast loop, which then costs what an Elman step does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from slotfill.model.cells.base import LoopCell

if TYPE_CHECKING:
    from slotfill.model.config import ModelOptions

ALPHA = 0.95


def context_units(hidden_size: int, share: float) -> int:
    """Units of the context state: ``share`` of the units, at least one, and one left for ``h``.

    >>> context_units(200, 0.2), context_units(4, 0.2), context_units(2, 0.9)
    (40, 1, 1)
    """
    if hidden_size < 2:
        raise ValueError(f"scrn needs a fast and a context unit at least, hidden_size is {hidden_size}")
    return min(max(1, round(share * hidden_size)), hidden_size - 1)


def context_loop(projected: torch.Tensor, alpha: float) -> torch.Tensor:
    """(T, B, S) terms ``B x_t`` -> (T, B, S) context states ``s_t``."""
    context = torch.zeros_like(projected[0])  # s_0
    outputs = []
    for step in range(projected.shape[0]):
        context = (1.0 - alpha) * projected[step] + alpha * context
        outputs.append(context)
    return torch.stack(outputs)


def fast_loop(projected: torch.Tensor, weight_hh: torch.Tensor) -> torch.Tensor:
    """(T, B, F) terms ``P s_t + A x_t + b`` -> (T, B, F) fast states ``h_t``."""
    hidden = projected.new_zeros(projected.shape[1], weight_hh.shape[0])  # h_0
    outputs = []
    for step in range(projected.shape[0]):
        hidden = torch.sigmoid(torch.addmm(projected[step], hidden, weight_hh.t()))
        outputs.append(hidden)
    return torch.stack(outputs)


class SCRNCell(LoopCell):
    def __init__(self, input_size: int, hidden_size: int, context_share: float = 0.2) -> None:
        super().__init__(input_size, hidden_size)
        context = context_units(hidden_size, context_share)
        fast = hidden_size - context
        self.context_size = context
        self.weight_context = nn.Parameter(torch.empty(context, input_size))  # B
        self.weight_ih = nn.Parameter(torch.empty(fast, input_size))  # A
        self.bias = nn.Parameter(torch.empty(fast))  # b
        self.weight_ch = nn.Parameter(torch.empty(fast, context))  # P
        self.weight_hh = nn.Parameter(torch.empty(fast, fast))  # R
        self.reset_parameters()

    @classmethod
    def from_options(cls, input_size: int, hidden_size: int, options: ModelOptions) -> LoopCell:
        return cls(input_size, hidden_size, options.scrn_context_share)

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        """(T, B, I) -> (T, B, S + F): ``B x_t`` then ``A x_t + b``."""
        context = F.linear(inputs, self.weight_context)
        return torch.cat([context, F.linear(inputs, self.weight_ih, self.bias)], dim=2)

    def scan(self, projected: torch.Tensor) -> torch.Tensor:
        context_terms = projected[:, :, : self.context_size]
        fast_terms = projected[:, :, self.context_size :]
        context = context_loop(context_terms, ALPHA)  # (T, B, S)
        fast = fast_loop(fast_terms + F.linear(context, self.weight_ch), self.weight_hh)  # (T, B, F)
        return torch.cat([fast, context], dim=2)
