"""The recurrent layer: the lecture's worked example, the IRNN start, and packing of padded batches."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from slotfill.model.config import CELLS, Cell
from slotfill.model.recurrent import FUSED_CELLS, RecurrentEncoder, build_rnn


def test_lecture_worked_example() -> None:
    """All weights 1, no bias, linear units: [1,1] [1,1] [2,2] -> [4,4] [12,12] [32,32].

    h1 = W x1 = [2,2]; h2 = W x2 + U h1 = [2,2] + [4,4] = [6,6]; h3 = [4,4] + [12,12] = [16,16];
    the output layer doubles each: [4,4], [12,12], [32,32].
    """
    rnn = build_rnn("irnn", 2, 2, 1, False, 0.0)
    output_layer = nn.Linear(2, 2)
    with torch.no_grad():
        for name, param in [*rnn.named_parameters(), *output_layer.named_parameters()]:
            param.fill_(0.0 if "bias" in name else 1.0)
    inputs = torch.tensor([[[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]]])  # (B=1, T=3, 2)
    states, _ = rnn(inputs)
    outputs = output_layer(states)
    assert outputs.tolist() == [[[4.0, 4.0], [12.0, 12.0], [32.0, 32.0]]]


def test_irnn_starts_with_identity_memory_and_no_bias() -> None:
    rnn = build_rnn("irnn", 3, 4, 2, True, 0.0)
    assert rnn.nonlinearity == "relu"
    hidden = [(n, p) for n, p in rnn.named_parameters() if n.startswith("weight_hh")]
    assert len(hidden) == 4  # two layers, two directions
    for name, param in hidden:
        assert torch.equal(param, torch.eye(4)), name
    for name, param in rnn.named_parameters():
        if name.startswith("bias"):
            assert torch.count_nonzero(param) == 0, name
        if name.startswith("weight_ih"):
            assert torch.count_nonzero(param) > 0, name  # the input weights keep their random start


def test_irnn_carries_memory_unchanged_without_input() -> None:
    """Identity memory and ReLU: a positive state is passed on as it is when the input is zero."""
    rnn = build_rnn("irnn", 2, 2, 1, False, 0.0)
    with torch.no_grad():
        rnn.get_parameter("weight_ih_l0").copy_(torch.eye(2))
    inputs = torch.tensor([[[3.0, 5.0], [0.0, 0.0], [0.0, 0.0]]])
    states, _ = rnn(inputs)
    assert states[0].tolist() == [[3.0, 5.0]] * 3


@pytest.mark.parametrize(
    ("cell", "kind", "nonlinearity"),
    [("lstm", nn.LSTM, None), ("gru", nn.GRU, None), ("rnn", nn.RNN, "tanh"), ("irnn", nn.RNN, "relu")],
)
def test_build_rnn_cell_types(cell: Cell, kind: type[nn.RNNBase], nonlinearity: str | None) -> None:
    rnn = build_rnn(cell, 5, 7, 1, True, 0.0)
    assert type(rnn) is kind
    assert rnn.batch_first
    if nonlinearity is not None:
        assert rnn.nonlinearity == nonlinearity


def test_looped_cells_have_no_fused_module() -> None:
    with pytest.raises(ValueError, match="'scrn' has no fused module"):
        build_rnn("scrn", 4, 4, 1, True, 0.0)


def test_dropout_only_between_stacked_layers() -> None:
    assert build_rnn("lstm", 4, 4, 1, True, 0.5).dropout == 0.0  # torch warns on dropout with 1 layer
    assert build_rnn("lstm", 4, 4, 2, True, 0.5).dropout == 0.5


def _padded_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(3, 5, 6, generator=generator)
    lengths = torch.tensor([2, 5, 3])
    return inputs, lengths


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [True, False])
def test_padding_outputs_zero_and_gets_no_gradient(cell: Cell, bidirectional: bool) -> None:
    torch.manual_seed(0)
    encoder = RecurrentEncoder(cell, 6, 4, layers=2, bidirectional=bidirectional)
    inputs, lengths = _padded_inputs()
    inputs.requires_grad_(True)
    out = encoder(inputs, lengths)
    assert out.shape == (3, 5, encoder.output_dim)
    pad = torch.arange(5).unsqueeze(0) >= lengths.unsqueeze(1)
    assert torch.count_nonzero(out[pad]) == 0
    assert torch.count_nonzero(out[~pad]) > 0
    out.pow(2).sum().backward()
    assert inputs.grad is not None
    assert torch.isfinite(inputs.grad).all()
    assert torch.count_nonzero(inputs.grad[pad]) == 0  # padding never entered the memory
    assert torch.count_nonzero(inputs.grad[~pad]) > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in encoder.parameters())


@pytest.mark.parametrize("cell", CELLS)
def test_longer_padded_neighbour_changes_nothing(cell: Cell) -> None:
    torch.manual_seed(1)
    encoder = RecurrentEncoder(cell, 6, 4, layers=1, bidirectional=True).eval()
    inputs, _ = _padded_inputs(1)
    alone = encoder(inputs[:1, :2], torch.tensor([2]))
    with_neighbour = encoder(inputs[:2], torch.tensor([2, 5]))
    # A batch of one and of two are different matrix products, which a BLAS may round differently
    # (up to 9e-8 here); padding read into the state moves the outputs by 1e-2 or more.
    torch.testing.assert_close(with_neighbour[0, :2], alone[0], atol=1e-5, rtol=0)
    # The backward direction must start at the real last token, not at the padding.
    assert torch.count_nonzero(with_neighbour[0, 2:]) == 0


def _packed(encoder: RecurrentEncoder, inputs: torch.Tensor) -> torch.Tensor:
    """The encoder's RNN through pack/unpack, whatever shortcut ``forward`` takes."""
    lengths = torch.full((inputs.shape[0],), inputs.shape[1])
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(encoder.rnn(packed)[0], batch_first=True)[0]


@pytest.mark.parametrize("cell", FUSED_CELLS)
@pytest.mark.parametrize("bidirectional", [True, False])
def test_inference_without_padding_skips_packing_to_the_same_outputs(cell: Cell, bidirectional: bool) -> None:
    """Equal to rounding. Unpacked, torch runs an LSTM through oneDNN (``mkldnn_rnn_layer``) and
    packed through its own cell loop: bit for bit the same on this machine under every kernel
    variant tried, but two libraries that each pick their kernels by CPU promise no such thing. A
    shortcut that got a direction, a layer or a length wrong is off by 1e-2 or more."""
    torch.manual_seed(2)
    encoder = RecurrentEncoder(cell, 64, 48, layers=2, bidirectional=bidirectional).eval()
    inputs = torch.randn(16, 11, 64)
    with torch.inference_mode():
        shortcut, packed = encoder(inputs, torch.full((16,), 11)), _packed(encoder, inputs)
    torch.testing.assert_close(shortcut, packed, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", FUSED_CELLS)
def test_training_always_packs_so_gradients_keep_their_order(cell: Cell) -> None:
    """Unpacked, the weight gradients of a full batch are summed in another order (not bit-equal
    at realistic sizes), which would change every seeded run's metrics."""
    torch.manual_seed(3)
    encoder = RecurrentEncoder(cell, 64, 48, layers=1, bidirectional=True)
    inputs = torch.randn(32, 11, 64)
    grads = []
    for run in (lambda: encoder(inputs, torch.full((32,), 11)), lambda: _packed(encoder, inputs)):
        encoder.zero_grad()
        run().pow(2).sum().backward()
        grads.append([p.grad.clone() for p in encoder.parameters() if p.grad is not None])
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))


@pytest.mark.parametrize(("bidirectional", "width"), [(True, 14), (False, 7)])
def test_output_width(bidirectional: bool, width: int) -> None:
    encoder = RecurrentEncoder("lstm", 6, 7, bidirectional=bidirectional)
    inputs, lengths = _padded_inputs()
    assert encoder.output_dim == width
    assert encoder(inputs, lengths).shape == (3, 5, width)


def test_unidirectional_output_depends_on_the_past_only() -> None:
    torch.manual_seed(2)
    encoder = RecurrentEncoder("gru", 6, 4, bidirectional=False).eval()
    inputs, _ = _padded_inputs()
    changed = inputs.clone()
    changed[0, 3] += 1.0
    lengths = torch.tensor([5, 5, 3])
    before, after = encoder(inputs, lengths), encoder(changed, lengths)
    torch.testing.assert_close(before[0, :3], after[0, :3])
    assert not torch.allclose(before[0, 3:], after[0, 3:])


def test_stacked_layers() -> None:
    torch.manual_seed(3)
    encoder = RecurrentEncoder("lstm", 6, 4, layers=3, bidirectional=True)
    assert encoder.rnn.num_layers == 3
    assert encoder.rnn.weight_ih_l1.shape == (16, 8)  # layer 2 reads both directions of layer 1
    inputs, lengths = _padded_inputs()
    assert encoder(inputs, lengths).shape == (3, 5, 8)
