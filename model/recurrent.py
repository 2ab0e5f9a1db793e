"""The recurrent layer: torch's fused cells over packed sequences, so CUDA runs cuDNN, or a looped
cell of ``model.cells``.

Cells follow the lecture: ``rnn`` is the Elman network (tanh), ``irnn`` the ReLU RNN whose
recurrent weights start as the identity (Le et al., 2015) so memory neither fades nor explodes at
first, ``lstm`` and ``gru`` the gated cells that keep gradients alive over long spans. The
Jordan network, the peephole LSTM, the Clockwork RNN and the SCRN have no fused kernel: they run
their own loop (``model.cells``), bidirectional and stacked the same way, and are slower.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from slotfill.model.cells import LOOP_CELLS
from slotfill.model.cells.stack import LoopRNN
from slotfill.model.config import Cell, ModelOptions

FUSED_CELLS: tuple[Cell, ...] = ("lstm", "gru", "rnn", "irnn")


def build_rnn(
    cell: Cell, input_size: int, hidden: int, layers: int, bidirectional: bool, dropout: float
) -> nn.RNNBase:
    """A fused multi-layer recurrent module of the given cell type."""
    if cell not in FUSED_CELLS:
        raise ValueError(f"{cell!r} has no fused module; the fused cells are {', '.join(FUSED_CELLS)}")
    common = {
        "input_size": input_size,
        "hidden_size": hidden,
        "num_layers": layers,
        "bidirectional": bidirectional,
        "batch_first": True,
        "dropout": dropout if layers > 1 else 0.0,
    }
    if cell == "lstm":
        return nn.LSTM(**common)
    if cell == "gru":
        return nn.GRU(**common)
    if cell == "rnn":
        return nn.RNN(nonlinearity="tanh", **common)
    rnn = nn.RNN(nonlinearity="relu", **common)
    with torch.no_grad():
        for name, param in rnn.named_parameters():
            if name.startswith("weight_hh"):
                param.copy_(torch.eye(hidden))
            elif name.startswith("bias"):
                param.zero_()
    return rnn


class RecurrentEncoder(nn.Module):
    """Runs the cell over each utterance's real tokens only (padding never enters the memory)."""

    def __init__(
        self,
        cell: Cell,
        input_size: int,
        hidden: int,
        layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
        options: ModelOptions | None = None,
    ) -> None:
        """``options``: the settings a looped cell reads (clockwork periods, SCRN context); the
        defaults when not given."""
        super().__init__()
        self.rnn: nn.RNNBase | LoopRNN
        if cell in FUSED_CELLS:
            self.rnn = build_rnn(cell, input_size, hidden, layers, bidirectional, dropout)
        else:
            kind, settings = LOOP_CELLS[cell], options or ModelOptions()
            self.rnn = LoopRNN(
                lambda size, units: kind.from_options(size, units, settings),
                input_size,
                hidden,
                layers,
                bidirectional,
                dropout,
            )
        self.output_dim = hidden * (2 if bidirectional else 1)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, input) -> (B, T, output_dim); positions past a length are zeros.

        At inference a batch without padding (one utterance, as a chatbot sends) skips packing:
        the same outputs (to rounding: an unpacked LSTM runs through oneDNN, a packed one through
        torch's own loop) without the cost of packing and unpacking, which at one short utterance
        is a noticeable share of the LSTM's own time. Training always packs: there the weight
        gradients would be summed in another order, and a seed would no longer give the recorded
        metrics.
        """
        if isinstance(self.rnn, LoopRNN):
            looped: torch.Tensor = self.rnn(inputs, lengths)
            return looped
        if not torch.is_grad_enabled() and bool((lengths == inputs.shape[1]).all()):
            unpacked: torch.Tensor = self.rnn(inputs)[0]
            return unpacked
        packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, _ = self.rnn(packed)
        padded, _ = pad_packed_sequence(output, batch_first=True, total_length=inputs.shape[1])
        return padded
