"""One step of the LSTM and of the GRU, written as the lecture writes them, with any activations.

Slow and plain on purpose: the tests check torch's fused ``nn.LSTM``/``nn.GRU`` and the looped
cells against these steps, and these steps against the lecture's worked memory example (linear
cell input and output, gates that open and close on a signal). Weights use torch's layout, so a
fused module's weights drop in: gates stacked in rows as i, f, g, o (LSTM) and r, z, n (GRU), with
``weight_ih`` (gates x input), ``weight_hh`` (gates x hidden) and the biases ``bias_ih``,
``bias_hh``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Activation = Callable[[torch.Tensor], torch.Tensor]


def linear(values: torch.Tensor) -> torch.Tensor:
    """The identity, as an activation."""
    return values


@dataclass(frozen=True)
class Weights:
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor
    bias_ih: torch.Tensor
    bias_hh: torch.Tensor

    @classmethod
    def of(cls, module: torch.nn.RNNBase, layer: int = 0, suffix: str = "") -> Weights:
        """The weights of one layer and direction (``suffix="_reverse"``) of a fused module."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return cls(*(module.get_parameter(f"{name}_l{layer}{suffix}") for name in names))


def lstm_step(
    x: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    w: Weights,
    gate: Activation = torch.sigmoid,
    cell_input: Activation = torch.tanh,
    cell_output: Activation = torch.tanh,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x_t, h_{t-1}, c_{t-1}) -> (h_t, c_t)``::

    i = gate(W_i x + U_i h + b_i)          input gate: how much of the new input is stored
    f = gate(W_f x + U_f h + b_f)          forget gate: how much of the memory is kept
    g = cell_input(W_g x + U_g h + b_g)    the candidate value
    o = gate(W_o x + U_o h + b_o)          output gate: how much of the memory is read out
    c_t = f * c + i * g
    h_t = o * cell_output(c_t)
    """
    i, f, g, o = (w.weight_ih @ x + w.bias_ih + w.weight_hh @ h + w.bias_hh).chunk(4)
    c_next = gate(f) * c + gate(i) * cell_input(g)
    return gate(o) * cell_output(c_next), c_next


def gru_step(x: torch.Tensor, h: torch.Tensor, w: Weights) -> torch.Tensor:
    """``(x_t, h_{t-1}) -> h_t``, torch's GRU (the reset gate applies after ``U_n h``)::

    r = sigmoid(W_r x + b_ir + U_r h + b_hr)        reset gate
    z = sigmoid(W_z x + b_iz + U_z h + b_hz)        update gate
    n = tanh(W_n x + b_in + r * (U_n h + b_hn))     candidate
    h_t = (1 - z) * n + z * h
    """
    x_r, x_z, x_n = (w.weight_ih @ x + w.bias_ih).chunk(3)
    h_r, h_z, h_n = (w.weight_hh @ h + w.bias_hh).chunk(3)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h
