"""Temperature scaling: the fitted temperatures minimise dev's NLL and never change a prediction."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch
from torch.nn import functional as F

from slotfill.model.batch import Featurizer, collate
from slotfill.model.config import ModelOptions
from slotfill.model.predictor import Predictor
from slotfill.model.tagger import SlotTagger
from slotfill.training.builder import build_model
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.seeding import seed_everything
from slotfill.training.temperature import (
    BOUNDS,
    Temperatures,
    fit_temperatures,
    golden_minimum,
    intent_temperature,
)
from slotfill.training.trainer import fit

SMALL = ModelOptions(word_dim=8, trigram_dim=8, hidden_size=8, trigram_buckets=256)
CPU = torch.device("cpu")
Data = tuple[list[Example], list[Example]]
# The tiny dev set has 6 utterances; these tests lower the minimum to let it speak.
ANY = 1


def _sharpened(model: SlotTagger, factor: float) -> SlotTagger:
    """The model with its slot scores (emissions and CRF tables) multiplied by ``factor``."""
    sharper = copy.deepcopy(model)
    assert sharper.crf is not None
    with torch.no_grad():
        for parameter in (*sharper.slot_head.parameters(), *sharper.crf.parameters()):
            parameter.mul_(factor)
    return sharper


@pytest.fixture(scope="module")
def overconfident(travel_data: Data) -> tuple[SlotTagger, Featurizer]:
    """Two epochs on the tiny data, then slot scores ten times too large: sure, and often wrong."""
    train, dev = travel_data
    seed_everything(0)
    model, featurizer = build_model(train, SMALL)
    fit(model, featurizer, train, dev, TrainConfig(epochs=2, batch_size=8, seed=0), CPU, progress=False)
    return _sharpened(model, 10.0), featurizer


def _slot_nll(model: SlotTagger, featurizer: Featurizer, dev: list[Example], temperature: float) -> float:
    """Dev's slot NLL, computed here rather than by the module under test."""
    tag_index = {t: i for i, t in enumerate(model.config.slot_tags)}
    batch = collate([featurizer.featurize(e.tokens) for e in dev])
    gold = torch.zeros(batch.mask.shape, dtype=torch.long)
    for row, e in enumerate(dev):
        gold[row, : len(e.tags)] = torch.tensor([tag_index[t] for t in e.tags])
    with torch.no_grad():
        emissions = model.eval()(batch).emissions
        assert model.crf is not None
        return float(model.crf.nll(emissions, gold, batch.mask, temperature).sum())


def test_golden_minimum_stops_at_the_bounds() -> None:
    assert golden_minimum(lambda t: t, *BOUNDS) == pytest.approx(BOUNDS[0], rel=1e-4)
    assert golden_minimum(lambda t: -t, *BOUNDS) == pytest.approx(BOUNDS[1], rel=1e-4)
    assert golden_minimum(lambda t: (t - 2.0) ** 2, *BOUNDS) == pytest.approx(2.0, rel=1e-4)


def test_the_slot_temperature_minimises_dev_nll(
    overconfident: tuple[SlotTagger, Featurizer], travel_data: Data
) -> None:
    model, featurizer = overconfident
    dev = travel_data[1]
    fitted = fit_temperatures(model, featurizer, dev, CPU, minimum=ANY).slot
    assert BOUNDS[0] < fitted < BOUNDS[1] and fitted > 1.0  # sure and often wrong: cool it down
    best = _slot_nll(model, featurizer, dev, fitted)
    assert best < _slot_nll(model, featurizer, dev, fitted * 0.95)
    assert best < _slot_nll(model, featurizer, dev, fitted * 1.05)
    assert best < _slot_nll(model, featurizer, dev, 1.0)


def test_slot_scores_made_k_times_larger_get_a_k_times_higher_temperature(
    overconfident: tuple[SlotTagger, Featurizer], travel_data: Data
) -> None:
    """NLL(k T; k * scores) = NLL(T; scores): the fit undoes a scaled head exactly."""
    model, featurizer = overconfident
    dev = travel_data[1]
    sharper = _sharpened(model, 2.0)
    # The identity on the objective: float32 rounding moves an NLL of some 40 nats by ~1e-5, a
    # temperature that left a table (transitions, start, end) undivided by whole nats.
    for temperature in (0.5, 1.0, 3.0):
        assert _slot_nll(sharper, featurizer, dev, 2.0 * temperature) == pytest.approx(
            _slot_nll(model, featurizer, dev, temperature), rel=1e-5
        )
    # The fit: it works in float64, so the machine's float32 rounding (which moved the bottom of
    # this flat curve by 0.1%) no longer decides where the minimum lies.
    before = fit_temperatures(model, featurizer, dev, CPU, minimum=ANY).slot
    after = fit_temperatures(sharper, featurizer, dev, CPU, minimum=ANY).slot
    assert after == pytest.approx(2.0 * before, rel=1e-3)


def test_the_intent_temperature_minimises_the_nll_and_scales_with_the_logits() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(200, 5, generator=generator) * 3
    # Gold drawn from softmax(logits / 2): the logits are twice too sure, and T = 2 is right.
    gold = torch.multinomial((logits / 2).softmax(1), 1, generator=generator).squeeze(1)
    fitted = intent_temperature(logits, gold)
    assert 1.5 < fitted < 2.7

    def nll(t: float) -> float:
        return float(F.cross_entropy(logits / t, gold, reduction="sum"))

    assert nll(fitted) < min(nll(fitted * 0.95), nll(fitted * 1.05), nll(1.0))
    assert intent_temperature(logits * 0.5, gold) == pytest.approx(fitted * 0.5, rel=1e-3)


def test_no_wrong_answer_keeps_temperature_one(
    overconfident: tuple[SlotTagger, Featurizer], travel_data: Data
) -> None:
    model, featurizer = overconfident
    taggings = Predictor(model, featurizer, CPU).tag([list(e.tokens) for e in travel_data[1]])
    # Gold labels = the model's own answers: nothing is wrong, so the NLL has no minimum.
    mirrored = [
        Example(e.tokens, tuple(t.tags), t.intent.intent if t.intent else None)
        for e, t in zip(travel_data[1], taggings, strict=True)
    ]
    assert fit_temperatures(model, featurizer, mirrored, CPU, minimum=ANY) == Temperatures(1.0, 1.0)
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    assert intent_temperature(logits, torch.tensor([0, 1])) == 1.0


def test_a_small_dev_set_keeps_temperature_one(
    overconfident: tuple[SlotTagger, Featurizer], travel_data: Data
) -> None:
    model, featurizer = overconfident
    dev = travel_data[1]
    assert fit_temperatures(model, featurizer, dev, CPU) == Temperatures(1.0, 1.0)  # 6 < 50
    assert fit_temperatures(model, featurizer, dev, CPU, minimum=len(dev)).slot != 1.0


def test_labels_the_model_lacks_are_left_out_of_the_fit(
    overconfident: tuple[SlotTagger, Featurizer], travel_data: Data
) -> None:
    model, featurizer = overconfident
    dev = travel_data[1]
    odd = dataclasses.replace(dev[0], tags=("B-unheard", *dev[0].tags[1:]), intent="unheard_of")
    with_odd = fit_temperatures(model, featurizer, [odd, *dev[1:]], CPU, minimum=ANY)
    assert with_odd == fit_temperatures(model, featurizer, dev[1:], CPU, minimum=ANY)
    assert all(math.isfinite(t) and BOUNDS[0] <= t <= BOUNDS[1] for t in (with_odd.slot, with_odd.intent))
