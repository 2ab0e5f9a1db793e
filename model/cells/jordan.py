"""The Jordan network: the memory is the previous step's output, not the hidden layer.

Per direction, with ``x_t`` the input, ``h_t`` the hidden layer and ``y_t`` the output, all but
``x_t`` ``hidden_size`` wide, and ``y_0 = 0``::

    h_t = tanh(W_x x_t + U y_{t-1} + b_h)
    y_t = tanh(W_y h_t + b_y)

The encoder emits ``y_t``. Compare the Elman network (``rnn``), ``h_t = tanh(W_x x_t + U h_{t-1} +
b)``, whose memory is the hidden layer. In the lecture's slot filler (Mesnil et al., 2013) ``y`` is
the tag posterior itself; here the tag scores come from the tagger's slot head (and CRF) over
``y_t``, so the fed-back output is a learnt ``hidden_size``-wide summary of what was emitted, and
the cell stays independent of the tag set (and works bidirectionally and stacked).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from slotfill.model.cells.base import LoopCell


def jordan_loop(
    projected: torch.Tensor, weight_yh: torch.Tensor, weight_hy: torch.Tensor, bias_hy: torch.Tensor
) -> torch.Tensor:
    """(T, B, H) input terms ``W_x x_t + b_h`` -> (T, B, H) outputs ``y_t``."""
    output = projected.new_zeros(projected.shape[1], weight_hy.shape[0])  # y_0: (B, H)
    outputs = []
    for step in range(projected.shape[0]):
        hidden = torch.tanh(torch.addmm(projected[step], output, weight_yh.t()))  # h_t
        output = torch.tanh(torch.addmm(bias_hy, hidden, weight_hy.t()))  # y_t
        outputs.append(output)
    return torch.stack(outputs)


class JordanCell(LoopCell):
    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # W_x
        self.bias_ih = nn.Parameter(torch.empty(hidden_size))  # b_h
        self.weight_yh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # U
        self.weight_hy = nn.Parameter(torch.empty(hidden_size, hidden_size))  # W_y
        self.bias_hy = nn.Parameter(torch.empty(hidden_size))  # b_y
        self.reset_parameters()

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.linear(inputs, self.weight_ih, self.bias_ih)

    def scan(self, projected: torch.Tensor) -> torch.Tensor:
        return jordan_loop(projected, self.weight_yh, self.weight_hy, self.bias_hy)
