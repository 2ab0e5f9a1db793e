"""Recurrent cells that torch has no fused kernel for, and the registry of them.

Each module is one cell of the lecture, its equations in its docstring, as a ``LoopCell``
(``base``: an input projection over all steps, then a time loop); ``stack`` makes any of them
bidirectional and deep over padded batches. Adding a cell takes a module here, one line in
``LOOP_CELLS`` and its name in ``model.config.Cell``. ``reference`` holds the plain one-step LSTM
and GRU of the lecture's worked examples, against which torch's fused cells are checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from slotfill.model.cells.base import LoopCell
from slotfill.model.cells.clockwork import ClockworkCell
from slotfill.model.cells.jordan import JordanCell
from slotfill.model.cells.peephole import PeepholeLSTMCell
from slotfill.model.cells.scrn import SCRNCell

LOOP_CELLS: Mapping[str, type[LoopCell]] = MappingProxyType(
    {
        "jordan": JordanCell,
        "lstm-peephole": PeepholeLSTMCell,
        "clockwork": ClockworkCell,
        "scrn": SCRNCell,
    }
)
