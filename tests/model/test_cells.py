"""The cells checked against the lecture: its worked LSTM memory example, torch's fused LSTM and GRU,
each looped cell against its equations, and the gradient picture of a linear RNN over 1000 steps.

Reference comparisons run in float64, where 1e-5 is far above rounding, so a tolerance that fails
means a wrong equation, not a different BLAS.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from slotfill.model.cells import LOOP_CELLS
from slotfill.model.cells.clockwork import ClockworkCell
from slotfill.model.cells.jordan import JordanCell
from slotfill.model.cells.peephole import PeepholeLSTMCell
from slotfill.model.cells.reference import Weights, gru_step, linear, lstm_step
from slotfill.model.cells.scrn import ALPHA, SCRNCell
from slotfill.model.cells.stack import LoopRNN, reverse_within_lengths
from slotfill.model.config import ModelOptions
from slotfill.model.recurrent import RecurrentEncoder, build_rnn

F64 = torch.float64

# --- the lecture's worked LSTM memory example ----------------------------------------------------


def _lecture_weights() -> Weights:
    """Inputs (x1, x2, x3). Cell input = x1; input gate 100 x2 - 10; forget gate 100 x2 + 10;
    output gate 100 x3 - 10; nothing from the previous output."""
    weight_ih = torch.zeros(4, 3, dtype=F64)  # rows: i, f, g, o (one unit)
    weight_ih[0, 1] = 100.0
    weight_ih[1, 1] = 100.0
    weight_ih[2, 0] = 1.0
    weight_ih[3, 2] = 100.0
    bias = torch.tensor([-10.0, 10.0, 0.0, -10.0], dtype=F64)
    return Weights(weight_ih, torch.zeros(4, 1, dtype=F64), bias, torch.zeros(4, dtype=F64))


def test_reference_lstm_reproduces_the_lecture_memory_example() -> None:
    """x1 = 3 4 2 1 3, x2 = 1 1 0 0 -1, x3 = 0 0 0 1 0: the cell stores 3 then 3 + 4 while x2 = 1,
    keeps 7 while x2 = 0, reads it out when x3 = 1 and is erased by x2 = -1."""
    x1, x2, x3 = [3, 4, 2, 1, 3], [1, 1, 0, 0, -1], [0, 0, 0, 1, 0]
    weights = _lecture_weights()
    h, c = torch.zeros(1, dtype=F64), torch.zeros(1, dtype=F64)
    outputs, cells = [], []
    for step in zip(x1, x2, x3, strict=True):
        x = torch.tensor(step, dtype=F64)
        h, c = lstm_step(x, h, c, weights, cell_input=linear, cell_output=linear)
        outputs.append(h.item())
        cells.append(c.item())
    assert outputs == pytest.approx([0, 0, 0, 7, 0], abs=1e-3)
    assert cells == pytest.approx([3, 7, 7, 7, 0], abs=1e-3)


def test_the_lecture_example_needs_its_linear_activations() -> None:
    """With torch's tanh activations the same weights no longer read out 7: the activations are
    really configurable, not ignored."""
    weights, h, c = _lecture_weights(), torch.zeros(1, dtype=F64), torch.zeros(1, dtype=F64)
    for step in zip([3, 4, 2, 1], [1, 1, 0, 0], [0, 0, 0, 1], strict=True):
        h, c = lstm_step(torch.tensor(step, dtype=F64), h, c, weights)
    assert h.item() < 1.0


# --- reference steps against torch's fused modules ------------------------------------------------


def _random_sequence(steps: int = 6, size: int = 5, seed: int = 0) -> torch.Tensor:
    return torch.randn(steps, size, dtype=F64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_reference_lstm_step_matches_torch(bidirectional: bool) -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(5, 4, bidirectional=bidirectional).double()
    inputs = _random_sequence()
    expected = lstm(inputs)[0]  # (T, directions * H)
    for direction, suffix in enumerate(["", "_reverse"][: 2 if bidirectional else 1]):
        weights = Weights.of(lstm, 0, suffix)
        h, c = torch.zeros(4, dtype=F64), torch.zeros(4, dtype=F64)
        order = range(6) if not suffix else reversed(range(6))
        for t in order:
            h, c = lstm_step(inputs[t], h, c, weights)
            torch.testing.assert_close(h, expected[t, 4 * direction : 4 * direction + 4], atol=1e-5, rtol=0)


def test_reference_gru_step_matches_torch() -> None:
    torch.manual_seed(1)
    gru = nn.GRU(5, 4).double()
    inputs = _random_sequence(seed=1)
    expected = gru(inputs)[0]
    weights, h = Weights.of(gru), torch.zeros(4, dtype=F64)
    for t in range(6):
        h = gru_step(inputs[t], h, weights)
        torch.testing.assert_close(h, expected[t], atol=1e-5, rtol=0)


# --- the looped cells against their equations -----------------------------------------------------


def _sequence_batch(seed: int = 0, steps: int = 7, batch: int = 3, size: int = 5) -> torch.Tensor:
    return torch.randn(steps, batch, size, dtype=F64, generator=torch.Generator().manual_seed(seed))


def _randomise(cell: nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in cell.parameters():
            param.copy_(torch.randn(param.shape, dtype=param.dtype, generator=generator) * 0.5)


def test_peephole_lstm_follows_its_equations() -> None:
    cell = PeepholeLSTMCell(5, 4).double()
    _randomise(cell, 2)
    inputs = _sequence_batch(2)
    w, u, b, p = cell.weight_ih, cell.weight_hh, cell.bias, cell.peephole

    def run(x: torch.Tensor) -> torch.Tensor:
        h = c = torch.zeros(4, dtype=F64)
        out = []
        for x_t in x:
            i, f, g, o = (w @ x_t + u @ h + b).chunk(4)
            i, f = torch.sigmoid(i + p[0] * c), torch.sigmoid(f + p[1] * c)
            c = f * c + i * torch.tanh(g)
            h = torch.sigmoid(o + p[2] * c) * torch.tanh(c)
            out.append(h)
        return torch.stack(out)

    expected = torch.stack([run(inputs[:, b]) for b in range(3)], 1)
    with torch.no_grad():
        torch.testing.assert_close(cell(inputs), expected, atol=1e-10, rtol=0)


def test_jordan_follows_its_equations_and_remembers_only_its_output() -> None:
    cell = JordanCell(5, 4).double()
    _randomise(cell, 3)
    inputs = _sequence_batch(3)

    def run(x: torch.Tensor) -> torch.Tensor:
        y = torch.zeros(4, dtype=F64)
        out = []
        for x_t in x:
            h = torch.tanh(cell.weight_ih @ x_t + cell.bias_ih + cell.weight_yh @ y)
            y = torch.tanh(cell.weight_hy @ h + cell.bias_hy)
            out.append(y)
        return torch.stack(out)

    expected = torch.stack([run(inputs[:, b]) for b in range(3)], 1)
    with torch.no_grad():
        torch.testing.assert_close(cell(inputs), expected, atol=1e-10, rtol=0)
        # An output of zeros carries nothing forward: each step then depends on its own input only.
        cell.weight_hy.zero_()
        cell.bias_hy.zero_()
        cell.weight_ih.fill_(0.1)
        alone = torch.stack([cell(inputs[t : t + 1])[0] for t in range(len(inputs))])
        torch.testing.assert_close(cell(inputs), alone, atol=1e-12, rtol=0)


def test_scrn_follows_its_equations() -> None:
    cell = SCRNCell(5, 6, context_share=0.34).double()
    assert cell.context_size == 2
    _randomise(cell, 4)
    inputs = _sequence_batch(4)

    def run(x: torch.Tensor) -> torch.Tensor:
        s, h = torch.zeros(2, dtype=F64), torch.zeros(4, dtype=F64)
        out = []
        for x_t in x:
            s = (1 - ALPHA) * cell.weight_context @ x_t + ALPHA * s
            h = torch.sigmoid(cell.weight_ch @ s + cell.weight_ih @ x_t + cell.bias + cell.weight_hh @ h)
            out.append(torch.cat([h, s]))
        return torch.stack(out)

    expected = torch.stack([run(inputs[:, b]) for b in range(3)], 1)
    with torch.no_grad():
        torch.testing.assert_close(cell(inputs), expected, atol=1e-10, rtol=0)


def test_scrn_context_is_a_slow_moving_average_of_the_input() -> None:
    """One input at step 0, zeros after: the context decays by alpha per step, no faster."""
    cell = SCRNCell(1, 5, context_share=0.2).double()
    with torch.no_grad():
        cell.weight_context.fill_(1.0)
        states = cell(torch.tensor([[[1.0]]] + [[[0.0]]] * 30, dtype=F64))[:, 0, -1]
    expected = (1 - ALPHA) * ALPHA ** torch.arange(31, dtype=F64)
    torch.testing.assert_close(states, expected, atol=1e-12, rtol=0)
    assert states[30] > 0.2 * states[0]  # after 30 steps a fifth of the memory is still there


def test_clockwork_follows_its_equations() -> None:
    cell = ClockworkCell(5, 7, periods=(1, 2, 5)).double()
    _randomise(cell, 5)
    inputs = _sequence_batch(5, steps=11)
    periods = torch.tensor([1, 1, 1, 2, 2, 5, 5])  # 7 units in modules of 3, 2, 2
    module = torch.tensor([0, 0, 0, 1, 1, 2, 2])
    reads = module.unsqueeze(0) <= module.unsqueeze(1)  # reads[j, i]: unit i reads unit j's module
    u = cell.weight_hh * reads.t()

    def run(x: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(7, dtype=F64)
        out = []
        for t, x_t in enumerate(x):
            new = torch.tanh(cell.weight_ih @ x_t + cell.bias + u @ h)
            h = torch.where(t % periods == 0, new, h)
            out.append(h)
        return torch.stack(out)

    expected = torch.stack([run(inputs[:, b]) for b in range(3)], 1)
    with torch.no_grad():
        torch.testing.assert_close(cell(inputs), expected, atol=1e-10, rtol=0)


def test_clockwork_modules_tick_at_their_periods_and_slow_ones_ignore_fast_ones() -> None:
    torch.manual_seed(6)
    cell = ClockworkCell(3, 6, periods=(1, 2, 4)).double()  # modules: units 0-1, 2-3, 4-5
    inputs = _sequence_batch(6, steps=9, batch=1, size=3)
    with torch.no_grad():
        states = cell(inputs)[:, 0]  # (T, H)
        for t in range(1, 9):
            changed = (states[t] != states[t - 1]).tolist()
            assert changed[2:4] == [t % 2 == 0] * 2, t
            assert changed[4:6] == [t % 4 == 0] * 2, t
        # An input at step 1 (odd) reaches only the fastest module: the others never read step 1
        # and never read the fastest module.
        nudged = inputs.clone()
        nudged[1] += 1.0
        after = cell(nudged)[:, 0]
    assert not torch.equal(after[:, :2], states[:, :2])
    assert torch.equal(after[:, 2:], states[:, 2:])


def test_clockwork_with_one_period_of_one_is_the_elman_network() -> None:
    torch.manual_seed(7)
    rnn = build_rnn("rnn", 5, 4, 2, True, 0.0).double()
    looped = LoopRNN(lambda i, h: ClockworkCell(i, h, periods=(1,)), 5, 4, 2, True, 0.0).double()
    for layer in range(2):
        for direction, suffix in enumerate(["", "_reverse"]):
            cell = looped.layers[layer].directions[direction]
            with torch.no_grad():
                cell.weight_ih.copy_(rnn.get_parameter(f"weight_ih_l{layer}{suffix}"))
                cell.weight_hh.copy_(rnn.get_parameter(f"weight_hh_l{layer}{suffix}"))
                bias = rnn.get_parameter(f"bias_ih_l{layer}{suffix}") + rnn.get_parameter(
                    f"bias_hh_l{layer}{suffix}"
                )
                cell.bias.copy_(bias)
    _assert_same_as_fused(looped, rnn)


def _assert_same_as_fused(looped: LoopRNN, fused: nn.RNNBase) -> None:
    """The same outputs over a padded batch, bidirectional and stacked: the stacking and the
    reversal within lengths are right."""
    inputs = torch.randn(3, 6, 5, dtype=F64, generator=torch.Generator().manual_seed(8))
    lengths = torch.tensor([6, 2, 4])
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    expected = pad_packed_sequence(fused(packed)[0], batch_first=True, total_length=6)[0]
    with torch.no_grad():
        torch.testing.assert_close(looped(inputs, lengths), expected, atol=1e-5, rtol=0)


def test_peephole_lstm_without_peepholes_is_torchs_lstm() -> None:
    torch.manual_seed(9)
    lstm = nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    looped = LoopRNN(PeepholeLSTMCell, 5, 4, 2, True, 0.0).double()
    for layer in range(2):
        for direction, suffix in enumerate(["", "_reverse"]):
            cell = looped.layers[layer].directions[direction]
            weights = Weights.of(lstm, layer, suffix)
            with torch.no_grad():
                cell.weight_ih.copy_(weights.weight_ih)
                cell.weight_hh.copy_(weights.weight_hh)
                cell.bias.copy_(weights.bias_ih + weights.bias_hh)
                cell.peephole.zero_()
    _assert_same_as_fused(looped, lstm)


# --- the stack ----------------------------------------------------------------------------------


def test_reversal_within_lengths_is_its_own_inverse() -> None:
    values = torch.arange(24.0).view(2, 4, 3)
    lengths = torch.tensor([3, 1])
    flipped = reverse_within_lengths(values, lengths)
    assert flipped[0, :, 0].tolist() == [6.0, 3.0, 0.0, 9.0]
    assert torch.equal(flipped[1], values[1])
    assert torch.equal(reverse_within_lengths(flipped, lengths), values)


def test_stack_refuses_lengths_outside_the_batch() -> None:
    looped = LoopRNN(JordanCell, 3, 2, 1, True, 0.0)
    with pytest.raises(ValueError, match=r"lengths must lie in 1\.\.4"):
        looped(torch.zeros(2, 4, 3), torch.tensor([0, 4]))


@pytest.mark.parametrize("cell", sorted(LOOP_CELLS))
def test_looped_cells_read_their_settings(cell: str) -> None:
    options = ModelOptions(cell=cell, clockwork_periods=(1, 3), scrn_context_share=0.5)  # type: ignore[arg-type]
    encoder = RecurrentEncoder(cell, 6, 8, layers=2, bidirectional=True, options=options)  # type: ignore[arg-type]
    assert isinstance(encoder.rnn, LoopRNN)
    layers = encoder.rnn.layers
    assert len(layers) == 2 and all(len(layer.directions) == 2 for layer in layers)
    first = layers[1].directions[0]
    assert first.input_size == 16 and first.hidden_size == 8  # layer 2 reads both directions
    if isinstance(first, ClockworkCell):
        assert first.periods == (1, 3)
    if isinstance(first, SCRNCell):
        assert first.context_size == 4


# --- the gradient picture ------------------------------------------------------------------------


def _last_output(w: torch.Tensor, steps: int = 1000) -> torch.Tensor:
    """One linear unit, ``h_t = w h_{t-1} + x_t``, input weight 1, no bias; x_1 = 1, then zeros."""
    state = torch.ones((), dtype=F64)  # h_1 = x_1
    for _ in range(steps - 1):
        state = w * state
    return state


@pytest.mark.parametrize(("w", "expected"), [(1.0, 1.0), (1.01, 20_959.0), (0.99, 4.36e-5)])
def test_a_linear_rnn_over_1000_steps_gives_w_to_the_999(w: float, expected: float) -> None:
    """y^1000 = w^999: 1 for w = 1, about 20,000 for w = 1.01, about 0 for w = 0.99."""
    y = _last_output(torch.tensor(w, dtype=F64)).item()
    assert y == pytest.approx(w**999, rel=1e-9)
    assert y == pytest.approx(expected, rel=0.01)


def _sgd(w: float, clip: float | None, steps: int = 5) -> tuple[list[float], list[float]]:
    """SGD on (y^1000 - 1)^2; the gradient norms before clipping and the losses."""
    weight = nn.Parameter(torch.tensor(w, dtype=F64))
    norms, losses = [], []
    for _ in range(steps):
        loss = (_last_output(weight) - 1.0) ** 2
        weight.grad = None
        loss.backward()
        limit = clip if clip is not None else float("inf")
        norms.append(float(nn.utils.clip_grad_norm_([weight], limit)))  # what training calls
        with torch.no_grad():
            weight -= 1e-3 * weight.grad
        losses.append(loss.item())
    return norms, losses


def test_clipping_keeps_the_gradient_bounded_where_it_explodes_unclipped() -> None:
    """At w = 1.01 the gradient of (y^1000 - 1)^2 is about 1e12: a plain step throws w far away
    and the next gradient overflows; clipped to norm 1 every step is small and the loss falls."""
    norms, _ = _sgd(1.01, None)
    assert norms[0] > 1e11
    assert not all(torch.isfinite(torch.tensor(norms[1:])))  # w ~ -1e9: w^999 overflows
    clipped_norms, losses = _sgd(1.01, 1.0)
    assert clipped_norms[0] == pytest.approx(norms[0])  # the same gradient before clipping...
    weight = nn.Parameter(torch.tensor(1.01, dtype=F64))
    ((_last_output(weight) - 1.0) ** 2).backward()
    nn.utils.clip_grad_norm_([weight], 1.0)
    assert weight.grad is not None
    assert weight.grad.abs().item() == pytest.approx(1.0)  # ...scaled down to the bound
    assert all(torch.isfinite(torch.tensor(clipped_norms)))
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
