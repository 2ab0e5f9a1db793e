"""LSTM with peephole connections (Gers and Schmidhuber, 2000): the gates also see the cell state.

Per direction, ``sigma`` the logistic function, ``*`` the elementwise product, ``p_i, p_f, p_o``
peephole weights (one per unit: a diagonal matrix), ``c_0 = h_0 = 0``::

    i_t = sigma(W_i x_t + U_i h_{t-1} + p_i * c_{t-1} + b_i)    input gate
    f_t = sigma(W_f x_t + U_f h_{t-1} + p_f * c_{t-1} + b_f)    forget gate
    g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)                     cell input
    c_t = f_t * c_{t-1} + i_t * g_t                              memory cell
    o_t = sigma(W_o x_t + U_o h_{t-1} + p_o * c_t + b_o)        output gate: sees the new cell
    h_t = o_t * tanh(c_t)

Without the peepholes (``p = 0``) this is torch's ``nn.LSTM``, with the same weight layout (gates
stacked i, f, g, o) and one bias instead of torch's two; the tests check both.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from slotfill.model.cells.base import LoopCell


def peephole_loop(projected: torch.Tensor, weight_hh: torch.Tensor, peephole: torch.Tensor) -> torch.Tensor:
    """(T, B, 4H) input terms ``W x_t + b`` -> (T, B, H) outputs ``h_t``."""
    hidden = projected.new_zeros(projected.shape[1], weight_hh.shape[1])  # h_0: (B, H)
    cell = torch.zeros_like(hidden)  # c_0
    peep_i, peep_f, peep_o = peephole[0], peephole[1], peephole[2]
    outputs = []
    for step in range(projected.shape[0]):
        gates = torch.addmm(projected[step], hidden, weight_hh.t())  # (B, 4H)
        i, f, g, o = gates.chunk(4, 1)
        i = torch.sigmoid(i + peep_i * cell)
        f = torch.sigmoid(f + peep_f * cell)
        cell = f * cell + i * torch.tanh(g)
        o = torch.sigmoid(o + peep_o * cell)
        hidden = o * torch.tanh(cell)
        outputs.append(hidden)
    return torch.stack(outputs)


class PeepholeLSTMCell(LoopCell):
    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))  # W_i, W_f, W_g, W_o
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))  # U_i, U_f, U_g, U_o
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))  # b_i, b_f, b_g, b_o
        self.peephole = nn.Parameter(torch.empty(3, hidden_size))  # p_i, p_f, p_o
        self.reset_parameters()

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.linear(inputs, self.weight_ih, self.bias)

    def scan(self, projected: torch.Tensor) -> torch.Tensor:
        return peephole_loop(projected, self.weight_hh, self.peephole)
