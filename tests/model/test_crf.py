"""The CRF against brute force: every legal path of a 5-tag set enumerated and scored by hand."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from slotfill.model import crf as crf_module
from slotfill.model import crf_decode
from slotfill.model.crf import CRF, NUMPY_MAX_WORK, allowed_transitions
from slotfill.model.spans import is_well_formed

# The decoder choice as the module makes it, kept before the fixture below replaces it.
DECODE_WITH_NUMPY = crf_module._decode_with_numpy

TAGS = ("O", "B-a", "I-a", "B-b", "I-b")
OUT, BA, IA, BB, IB = range(5)


@pytest.fixture(autouse=True, params=["numpy", "torch"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with both decoders: NumPy (small batches) and torch (large ones)."""
    monkeypatch.setattr(crf_module, "_decode_with_numpy", lambda emissions: request.param == "numpy")
    return str(request.param)


def random_crf(seed: int) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(TAGS).double()
    with torch.no_grad():
        crf.transitions.normal_()
        crf.start.normal_()
        crf.end.normal_()
    return crf


def legal_paths(length: int) -> list[tuple[int, ...]]:
    """Every BIO-legal path, from the tag names rather than from ``allowed_transitions``."""
    paths = itertools.product(range(len(TAGS)), repeat=length)
    return [p for p in paths if is_well_formed([TAGS[i] for i in p])]


def score(crf: CRF, emissions: torch.Tensor, path: tuple[int, ...]) -> torch.Tensor:
    """Unnormalised log score of one path, written out term by term."""
    total = crf.start[path[0]] + crf.end[path[-1]]
    for t, tag in enumerate(path):
        total = total + emissions[t, tag]
    for prev, cur in itertools.pairwise(path):
        total = total + crf.transitions[prev, cur]
    return total


# Two utterances of lengths 4 and 2 padded to 4; the padding holds garbage that must not count.
LENGTHS = (4, 2)


@pytest.fixture
def padded() -> tuple[CRF, torch.Tensor, torch.Tensor]:
    crf = random_crf(0)
    generator = torch.Generator().manual_seed(1)
    emissions = torch.randn(2, 4, len(TAGS), generator=generator, dtype=torch.float64) * 2
    emissions[1, 2:] = 1e3  # padding: would dominate every sum if it leaked in
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    return crf, emissions, mask


def test_allowed_transitions_table() -> None:
    allowed, first = allowed_transitions(TAGS)
    expected = [
        # to:  O     B-a    I-a    B-b    I-b       from:
        [True, True, False, True, False],  # O
        [True, True, True, True, False],  # B-a
        [True, True, True, True, False],  # I-a
        [True, True, False, True, True],  # B-b
        [True, True, False, True, True],  # I-b
    ]
    assert allowed.tolist() == expected
    assert first.tolist() == [True, True, False, True, False]


def test_allowed_transitions_refuse_non_bio_tags() -> None:
    with pytest.raises(ValueError, match="X-a"):
        allowed_transitions(["O", "X-a"])


def test_log_partition_matches_brute_force(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    crf, emissions, mask = padded
    log_z = crf.log_partition(emissions, mask)
    for b, length in enumerate(LENGTHS):
        scores = torch.stack([score(crf, emissions[b], p) for p in legal_paths(length)])
        assert log_z[b].item() == pytest.approx(torch.logsumexp(scores, 0).item(), abs=1e-9)


def test_viterbi_matches_brute_force(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    crf, emissions, mask = padded
    paths = crf.viterbi(emissions, mask)
    for b, length in enumerate(LENGTHS):
        scores = {p: score(crf, emissions[b], p).item() for p in legal_paths(length)}
        best, _ = max(scores.items(), key=lambda item: item[1])
        assert paths[b] == list(best)


def test_marginals_match_brute_force(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    crf, emissions, mask = padded
    marginals = crf.marginals(emissions, mask)
    for b, length in enumerate(LENGTHS):
        paths = legal_paths(length)
        probs = torch.softmax(torch.stack([score(crf, emissions[b], p) for p in paths]), 0)
        expected = torch.zeros(length, len(TAGS), dtype=torch.float64)
        for path, prob in zip(paths, probs, strict=True):
            for t, tag in enumerate(path):
                expected[t, tag] += prob
        torch.testing.assert_close(marginals[b, :length], expected, atol=1e-6, rtol=0)


def test_marginals_sum_to_one_on_real_tokens(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    crf, emissions, mask = padded
    sums = crf.marginals(emissions, mask).sum(-1)
    torch.testing.assert_close(sums[mask], torch.ones(int(mask.sum()), dtype=torch.float64))


def test_path_score_matches_hand_sum(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    crf, emissions, mask = padded
    tags = torch.tensor([[BA, IA, OUT, BB], [BB, IB, IA, IA]])  # row 1's padding tags are illegal: ignored
    got = crf.path_score(emissions, tags, mask)
    assert got[0].item() == pytest.approx(score(crf, emissions[0], (BA, IA, OUT, BB)).item())
    assert got[1].item() == pytest.approx(score(crf, emissions[1], (BB, IB)).item())


def test_nll_is_non_negative_with_finite_gradient(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    crf, emissions, mask = padded
    emissions.requires_grad_(True)
    tags = torch.tensor([[BA, IA, OUT, BB], [OUT, BA, OUT, OUT]])
    nll = crf.nll(emissions, tags, mask)
    assert (nll >= 0).all()
    torch.autograd.backward(nll.sum())
    for grad in (emissions.grad, crf.transitions.grad, crf.start.grad, crf.end.grad):
        assert grad is not None
        assert torch.isfinite(grad).all()
    assert crf.transitions.grad is not None
    assert torch.count_nonzero(crf.transitions.grad) > 0


def test_nll_gradient_is_marginals_minus_gold(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    """d NLL / d emission[t, k] = P(tag_t = k) - [gold_t = k]; zero on padding."""
    crf, emissions, mask = padded
    emissions.requires_grad_(True)
    tags = torch.tensor([[BA, IA, OUT, BB], [OUT, BA, OUT, OUT]])
    torch.autograd.backward(crf.nll(emissions, tags, mask).sum())
    expected = crf.marginals(emissions.detach(), mask) - torch.nn.functional.one_hot(tags, len(TAGS))
    expected = expected * mask.unsqueeze(2)
    torch.testing.assert_close(emissions.grad, expected, atol=1e-6, rtol=0)


def test_nll_of_the_only_legal_path_is_zero() -> None:
    """With overwhelming emissions one path holds all the mass: its NLL is ~0."""
    crf = CRF(TAGS)
    emissions = torch.full((1, 3, len(TAGS)), -30.0)
    gold = torch.tensor([[BA, IA, OUT]])
    emissions[0, torch.arange(3), gold[0]] = 30.0
    nll = crf.nll(emissions, gold, torch.ones(1, 3, dtype=torch.bool))
    assert nll.item() == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize(
    "favoured",
    [
        [IA, IA, IA],  # I-a first
        [OUT, IA, IA],  # I-a after O
        [BB, IA, IB],  # I-a after B-b, then I-b after I-a
    ],
)
def test_viterbi_never_emits_illegal_bio(favoured: list[int]) -> None:
    crf = CRF(TAGS)
    emissions = torch.zeros(1, len(favoured), len(TAGS))
    emissions[0, torch.arange(len(favoured)), torch.tensor(favoured)] = 100.0
    mask = torch.ones(1, len(favoured), dtype=torch.bool)
    path = crf.viterbi(emissions, mask)[0]
    assert is_well_formed([TAGS[i] for i in path]), [TAGS[i] for i in path]
    marginals = crf.marginals(emissions, mask)[0]
    assert marginals[0, IA] == 0.0  # no legal path starts with I-a
    torch.testing.assert_close(marginals.sum(-1), torch.ones(len(favoured)))


def test_viterbi_forbids_illegal_moves_for_any_learned_transitions() -> None:
    crf = random_crf(3)
    generator = torch.Generator().manual_seed(4)
    emissions = torch.randn(64, 6, len(TAGS), generator=generator, dtype=torch.float64) * 20
    lengths = torch.randint(1, 7, (64,), generator=generator)
    mask = torch.arange(6).unsqueeze(0) < lengths.unsqueeze(1)
    for path, length in zip(crf.viterbi(emissions, mask), lengths.tolist(), strict=True):
        assert len(path) == length
        assert is_well_formed([TAGS[i] for i in path])


def test_viterbi_never_emits_illegal_bio_for_extreme_emissions() -> None:
    crf = CRF(TAGS)
    emissions = torch.zeros(1, 2, len(TAGS))
    emissions[0, :, IA] = 1e5
    path = crf.viterbi(emissions, torch.ones(1, 2, dtype=torch.bool))[0]
    assert is_well_formed([TAGS[i] for i in path]), [TAGS[i] for i in path]


def test_one_token_utterances_batch_with_longer_ones() -> None:
    crf = random_crf(5)
    emissions = torch.randn(2, 3, len(TAGS), dtype=torch.float64)
    mask = torch.tensor([[True, False, False], [True, True, True]])
    alone = crf.viterbi(emissions[:1, :1], mask[:1, :1])
    assert crf.viterbi(emissions, mask)[0] == alone[0]
    assert len(alone[0]) == 1
    torch.testing.assert_close(
        crf.log_partition(emissions, mask)[0], crf.log_partition(emissions[:1, :1], mask[:1, :1])[0]
    )


def test_marginals_are_probabilities_even_when_the_model_is_sure() -> None:
    # Peaked emissions drive marginals to 1; float32 rounding in the forward-backward must not
    # push them past it (the service's response schema refuses a confidence above 1).
    torch.manual_seed(0)
    crf = CRF(["O", "B-a", "I-a", "B-b", "I-b"])
    emissions = torch.randn(64, 12, 5) * 30
    mask = torch.ones(64, 12, dtype=torch.bool)
    with torch.no_grad():
        marginals = crf.marginals(emissions, mask)
    assert float(marginals.max()) <= 1.0
    assert float(marginals.min()) >= 0.0


def test_mixed_precision_leaves_the_crf_in_float32(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    """Under autocast (mixed-precision training) the CRF still computes in float32.

    CPU autocast with bfloat16 stands in for CUDA's float16: both would run the forward algorithm's
    matrix products in 16 bits, losing about three decimal digits of log Z.
    """
    crf, emissions, mask = padded
    crf = crf.float()
    emissions = emissions.float()
    tags = torch.tensor([[BA, IA, OUT, BB], [OUT, BA, OUT, OUT]])
    expected_nll = crf.nll(emissions, tags, mask)
    expected_marginals = crf.marginals(emissions, mask)
    half = emissions.to(torch.bfloat16).requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        nll = crf.nll(emissions, tags, mask)
        from_half = crf.nll(half, tags, mask)
        marginals = crf.marginals(emissions, mask)
        paths = crf.viterbi(emissions, mask)
    assert nll.dtype == marginals.dtype == torch.float32
    torch.testing.assert_close(nll, expected_nll, atol=1e-5, rtol=1e-6)
    torch.testing.assert_close(marginals, expected_marginals, atol=1e-6, rtol=0)
    assert paths == crf.viterbi(emissions, mask)
    torch.autograd.backward(from_half.sum())
    assert half.grad is not None and half.grad.dtype == torch.bfloat16
    assert torch.isfinite(half.grad.float()).all()


def test_numpy_and_torch_decoders_agree_on_ragged_batches() -> None:
    """The two decoders are one algorithm: same paths, same marginals, padding never read."""
    crf = random_crf(7).float()
    generator = torch.Generator().manual_seed(8)
    emissions = torch.randn(40, 9, len(TAGS), generator=generator) * 3
    lengths = torch.randint(1, 10, (40,), generator=generator)
    mask = torch.arange(9).unsqueeze(0) < lengths.unsqueeze(1)
    emissions[~mask] = float("nan")  # padding that must never reach a real token's score
    with torch.inference_mode():
        paths, probs = (
            crf._viterbi_torch(emissions.nan_to_num(), mask),
            crf._marginals_torch(emissions.nan_to_num(), mask),
        )
        numpy_paths = crf_decode.viterbi(*crf._numpy_inputs(emissions, mask))
        numpy_probs = torch.from_numpy(crf_decode.marginals(*crf._numpy_inputs(emissions, mask)))
    assert numpy_paths == paths
    torch.testing.assert_close(numpy_probs[mask], probs[mask], atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("device", "batch", "tags", "numpy"),
    [
        ("cpu", 1, 159, True),
        ("cpu", 8, 159, True),  # ATIS's tag set: NumPy up to 8 utterances
        ("cpu", 9, 159, False),
        ("cpu", 4000, 7, True),  # the bundled model's: NumPy for any batch a job sends
        ("meta", 8, 159, True),
        ("meta", 9, 159, False),
    ],
)
def test_numpy_decodes_small_batches_on_any_device(device: str, batch: int, tags: int, numpy: bool) -> None:
    """The real choice (the autouse fixture replaces it in every other test); "meta" stands in for a GPU."""
    assert DECODE_WITH_NUMPY(torch.empty(batch, 3, tags, device=device)) is numpy


def test_decode_is_viterbi_and_marginals_together(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    crf, emissions, mask = padded
    paths, probs = crf.decode(emissions, mask)
    assert paths == crf.viterbi(emissions, mask)
    torch.testing.assert_close(probs, crf.marginals(emissions, mask), atol=0, rtol=0)


# --- temperature --------------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.5, 2.5])
def test_temperature_divides_every_path_score(
    padded: tuple[CRF, torch.Tensor, torch.Tensor], temperature: float
) -> None:
    """Marginals and NLL at temperature T are those of the distribution softmax(path score / T)."""
    crf, emissions, mask = padded
    marginals = crf.marginals(emissions, mask, temperature)
    tags = torch.tensor([[BA, IA, OUT, BB], [BB, IB, OUT, OUT]])
    nll = crf.nll(emissions, tags, mask, temperature)
    for b, length in enumerate(LENGTHS):
        paths = legal_paths(length)
        scores = torch.stack([score(crf, emissions[b], p) for p in paths]) / temperature
        probs = torch.softmax(scores, 0)
        expected = torch.zeros(length, len(TAGS), dtype=torch.float64)
        for path, prob in zip(paths, probs, strict=True):
            for t, tag in enumerate(path):
                expected[t, tag] += prob
        torch.testing.assert_close(marginals[b, :length], expected, atol=1e-6, rtol=0)
        gold = tuple(tags[b, :length].tolist())
        expected_nll = torch.logsumexp(scores, 0) - score(crf, emissions[b], gold) / temperature
        assert nll[b].item() == pytest.approx(expected_nll.item(), abs=1e-9)


def test_temperature_changes_the_marginals_but_not_the_path(
    padded: tuple[CRF, torch.Tensor, torch.Tensor],
) -> None:
    crf, emissions, mask = padded
    plain_paths, plain = crf.decode(emissions, mask)
    for temperature in (0.3, 3.0):
        paths, probs = crf.decode(emissions, mask, temperature)
        assert paths == plain_paths
        torch.testing.assert_close(probs, crf.marginals(emissions, mask, temperature), atol=0, rtol=0)
        assert not torch.allclose(probs[mask], plain[mask])
    # Above 1 the chosen tags are less sure, below 1 surer.
    chosen = torch.tensor([[p[t] if t < len(p) else 0 for t in range(4)] for p in plain_paths])

    def sureness(probs: torch.Tensor) -> float:
        return float(probs.detach().gather(2, chosen.unsqueeze(2)).squeeze(2)[mask].mean())

    assert (
        sureness(crf.marginals(emissions, mask, 3.0))
        < sureness(plain)
        < sureness(crf.marginals(emissions, mask, 0.3))
    )


# --- one utterance: best_paths ------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 5])
@pytest.mark.parametrize("temperature", [1.0, 0.4, 2.5])
def test_best_paths_of_one_utterance_match_brute_force(length: int, temperature: float) -> None:
    """The single-utterance decoder (scaled probabilities, float64) against every legal path."""
    crf = random_crf(length)
    emissions = torch.randn(1, length, len(TAGS), dtype=torch.float64) * 3
    mask = torch.ones(1, length, dtype=torch.bool)
    (path,), (probs,) = crf.best_paths(emissions, mask, temperature)
    paths = legal_paths(length)
    scores = torch.stack([score(crf, emissions[0], p) for p in paths])
    assert tuple(path) == paths[int(scores.argmax())]
    weights = torch.softmax(scores.detach() / temperature, 0)
    for t, tag in enumerate(path):
        expected = sum(float(w) for p, w in zip(paths, weights, strict=True) if p[t] == tag)
        assert probs[t] == pytest.approx(expected, abs=1e-9)


def test_best_paths_read_decode_for_every_batch_size(padded: tuple[CRF, torch.Tensor, torch.Tensor]) -> None:
    """A batch and each of its utterances alone give the same paths and probabilities."""
    crf, emissions, mask = padded
    paths, probs = crf.best_paths(emissions, mask, 1.7)
    for row, length in enumerate(LENGTHS):
        one = emissions[row : row + 1, :length]
        (alone,), (alone_probs,) = crf.best_paths(one, torch.ones(1, length, dtype=torch.bool), 1.7)
        assert alone == paths[row]
        assert alone_probs == pytest.approx(probs[row], abs=1e-9)


def test_best_paths_follow_a_change_of_the_tables() -> None:
    """The float64 tables are cached, but an in-place change of the weights (a training step)
    is seen at once."""
    crf = random_crf(3)
    emissions = torch.zeros(1, 2, len(TAGS), dtype=torch.float64)
    mask = torch.ones(1, 2, dtype=torch.bool)
    with torch.no_grad():
        crf.transitions.zero_()
        crf.start.zero_()
        crf.end.zero_()
        crf.start[BB] = 50.0
    assert crf.best_paths(emissions, mask)[0][0][0] == BB
    with torch.no_grad():
        crf.start[BB] = 0.0
        crf.start[BA] = 50.0
    assert crf.best_paths(emissions, mask)[0][0][0] == BA


# --- large BIO tag sets: the column-split Viterbi -----------------------------------------------


def test_a_large_bio_tag_set_decodes_as_the_dense_viterbi() -> None:
    """ATIS-size tag sets take model.viterbi_bio's split step: the same paths as every move's."""
    from slotfill.model.viterbi_bio import BioColumns

    tags = ["O"] + [f"{prefix}-s{i}" for i in range(40) for prefix in ("B", "I")]
    crf = CRF(tags)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for table in (crf.transitions, crf.start, crf.end):
            table.copy_(torch.randn(table.shape, generator=generator) * 2)
    tables = crf.decode_tables(0.9)
    assert tables.columns is not None and len(tables.columns.sources) == 40
    for length in (1, 2, 7, 19):
        emissions = torch.randn(1, length, len(tags), generator=generator, dtype=torch.float64) * 3
        mask = torch.ones(1, length, dtype=torch.bool)
        (path,), (probs,) = crf.best_paths(emissions, mask, 0.9)
        assert path == crf_decode.viterbi(*crf._numpy_inputs(emissions, mask))[0]
        dense = dataclasses.replace(tables, columns=None)
        assert crf_decode.decode_one(emissions[0].numpy(), dense) == (path, probs)
    assert CRF(tags[:5]).decode_tables().columns is None  # small: the dense step
    assert BioColumns.of(np.zeros((40, 40))) is None  # no BIO structure to use


def _large_bio_crf(scale: float, generator: torch.Generator, integers: bool = False) -> CRF:
    tags = ["O"] + [f"{prefix}-s{i}" for i in range(40) for prefix in ("B", "I")]
    crf = CRF(tags)
    with torch.no_grad():
        for table in (crf.transitions, crf.start, crf.end):
            values = torch.randn(table.shape, generator=generator) * scale
            table.copy_(values.round() if integers else values)
    return crf


@pytest.mark.parametrize(
    ("emission_scale", "integers"),
    [(0.3, False), (3.0, False), (30.0, False), (2.0, True), (0.0, True)],
    ids=["flat", "mixed", "peaked as trained", "ties", "ties everywhere"],
)
def test_a_large_bio_tag_set_decodes_batches_as_the_dense_decoder(
    emission_scale: float, integers: bool
) -> None:
    """Any batch on an ATIS-size tag set decodes in NumPy, its Viterbi pruned to the moves that
    can win (model.viterbi_bio.viterbi_batch): the dense decoder's paths, ties included, and its
    probabilities. Peaked emissions prune to one move per step, flat ones to none."""
    generator = torch.Generator().manual_seed(4)
    crf = _large_bio_crf(1.0, generator, integers)
    lengths = torch.tensor([1, 2, 7, 19, 5, 19, 3, 11, 8, 13, 2, 19])
    emissions = torch.randn(len(lengths), 19, 81, generator=generator, dtype=torch.float64) * emission_scale
    if integers:
        emissions = emissions.round()
    mask = torch.arange(19)[None, :] < lengths[:, None]
    assert crf.bio_split and crf.decodes_with_numpy(torch.zeros(64, 1, 81))
    paths, probs = crf.best_paths_in_numpy(emissions.numpy(), lengths.numpy(), 0.9)
    inputs = crf._numpy_inputs(emissions, mask)
    assert paths == crf_decode.viterbi(*inputs)
    tables = crf.decode_tables(0.9)
    dense = dataclasses.replace(tables, columns=None)
    for row, path in enumerate(paths):
        one = emissions[row, : lengths[row]].numpy()
        assert crf_decode.decode_one(one, tables)[0] == path == crf_decode.decode_one(one, dense)[0]
    expected = crf_decode.marginals(*crf._divided(inputs, 0.9))
    for row, path in enumerate(paths):
        assert len(path) == lengths[row]
        assert probs[row] == pytest.approx(expected[row, np.arange(len(path)), path].tolist(), abs=1e-9)


def test_a_tie_goes_to_the_lowest_tag_as_in_the_dense_step() -> None:
    """I-s0 (tag 2, an I- column) and B-s1 (tag 3, a B- column) tie as the predecessor of O: the
    split step must pick tag 2 as every-move Viterbi does, though it numbers B- tags first."""
    tags = ["O"] + [f"{prefix}-s{i}" for i in range(40) for prefix in ("B", "I")]
    crf = CRF(tags)  # all transition scores 0
    emissions = torch.full((1, 3, len(tags)), -10.0, dtype=torch.float64)
    emissions[0, 0, 1] = emissions[0, 1, 2] = emissions[0, 1, 3] = emissions[0, 2, 0] = 10.0
    lengths = np.array([3])
    assert crf.best_paths(emissions, torch.ones(1, 3, dtype=torch.bool))[0] == [[1, 2, 0]]
    assert crf.best_paths_in_numpy(emissions.numpy(), lengths)[0] == [[1, 2, 0]]
    assert crf_decode.viterbi(*crf._numpy_inputs(emissions, torch.ones(1, 3, dtype=torch.bool)))[0] == [
        1,
        2,
        0,
    ]


def test_small_tag_sets_keep_large_batches_in_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crf_module, "_decode_with_numpy", DECODE_WITH_NUMPY)
    crf = CRF(TAGS)
    assert not crf.bio_split
    assert not crf.decodes_with_numpy(torch.zeros(NUMPY_MAX_WORK // 25 + 1, 3, 5))


def test_log_marginals_are_the_marginals_with_finite_gradients(
    padded: tuple[CRF, torch.Tensor, torch.Tensor],
) -> None:
    """What distillation trains through: the same probabilities, differentiable, with no NaN from
    the tags the BIO rules forbid (-inf at a first token)."""
    crf, emissions, mask = padded
    emissions = emissions.clone().requires_grad_(True)
    log_probs = crf.log_marginals(emissions, mask)
    expected = crf.marginals(emissions.detach(), mask)
    assert torch.allclose(log_probs.exp()[mask], expected[mask], atol=1e-9)
    assert torch.isneginf(log_probs[:, 0, [IA, IB]]).all()
    targets = expected.detach()
    (-(targets * log_probs.clamp(min=-1e4))[mask].sum()).backward()
    assert emissions.grad is not None and torch.isfinite(emissions.grad).all()
    assert torch.isfinite(crf.transitions.grad).all() and crf.transitions.grad.abs().sum() > 0
