"""``Teacher``: soft targets from a trained tagger, and the loss that mixes them with the gold."""

from __future__ import annotations

import pytest
import torch

from slotfill.model.batch import Featurizer, collate
from slotfill.model.config import ModelOptions
from slotfill.model.ensemble import TaggerEnsemble, member_config
from slotfill.model.tagger import SlotTagger
from slotfill.training.builder import build_model
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.seeding import seed_everything
from slotfill.training.teacher import Teacher
from slotfill.training.trainer import fit

SMALL = ModelOptions(word_dim=8, trigram_dim=8, hidden_size=8, trigram_buckets=128)
Data = tuple[list[Example], list[Example]]


def _network(train: list[Example], seed: int) -> tuple[SlotTagger, Featurizer]:
    seed_everything(seed)
    return build_model(train, SMALL)


def _batch(featurizer: Featurizer, examples: list[Example]):  # type: ignore[no-untyped-def]
    return collate([featurizer.featurize(e.tokens) for e in examples])


def test_a_student_that_answers_as_its_teacher_has_no_soft_loss(travel_data: Data) -> None:
    train, _ = travel_data
    network, featurizer = _network(train, 1)
    other, _ = _network(train, 2)
    batch = _batch(featurizer, train[:8])
    teacher = Teacher(network, weight=0.5)
    network.eval()
    other.eval()
    assert teacher.soft_loss(network, network(batch), batch).item() == pytest.approx(0.0, abs=1e-5)
    assert teacher.soft_loss(other, other(batch), batch).item() > 1e-3


def test_the_soft_targets_are_the_ensembles_marginals_and_intent_probabilities(travel_data: Data) -> None:
    train, _ = travel_data
    first, featurizer = _network(train, 1)
    second, _ = _network(train, 2)
    config = first.config.replace(members=2)
    assert member_config(config) == first.config
    ensemble = TaggerEnsemble(config, [first, second]).eval()
    batch = _batch(featurizer, train[:5])
    targets = Teacher(ensemble, weight=1.0).targets(batch)
    output = ensemble(batch)
    assert ensemble.crf is not None
    expected = ensemble.crf.marginals(output.emissions, batch.mask)
    assert torch.allclose(targets.tags[batch.mask], expected[batch.mask], atol=1e-5)
    assert targets.intents is not None
    assert torch.allclose(targets.intents.sum(-1), torch.ones(5), atol=1e-6)
    assert not targets.tags.requires_grad


def test_the_weight_shares_the_loss_between_gold_and_soft(travel_data: Data) -> None:
    train, _ = travel_data
    teacher_network, featurizer = _network(train, 1)
    student, _ = _network(train, 2)
    student.eval()
    batch = _batch(featurizer, train[:8])
    output = student(batch)
    gold = torch.tensor(2.0)
    soft = Teacher(teacher_network, weight=1.0).soft_loss(student, output, batch)
    assert Teacher(teacher_network, weight=1.0).mix(gold, student, output, batch).item() == pytest.approx(
        soft.item(), rel=1e-5
    )
    mixed = Teacher(teacher_network, weight=0.25).mix(gold, student, output, batch)
    assert mixed.item() == pytest.approx(0.75 * 2.0 + 0.25 * soft.item(), rel=1e-5)


@pytest.mark.parametrize("weight", [0.0, -0.1, 1.5])
def test_a_weight_outside_zero_to_one_is_refused(travel_data: Data, weight: float) -> None:
    network, _ = _network(travel_data[0], 1)
    with pytest.raises(ValueError, match="weight must be in"):
        Teacher(network, weight=weight)


def test_training_on_soft_targets_alone_brings_the_student_to_its_teacher(travel_data: Data) -> None:
    """Weight 1: no gold at all; the student learns only what the teacher answers."""
    train, dev = travel_data
    teacher_network, featurizer = _network(train, 1)
    config = TrainConfig(epochs=40, batch_size=8, lr=1e-2, patience=40, slot_swap=0.0, seed=1)
    fit(teacher_network, featurizer, train, dev, config, torch.device("cpu"), progress=False)
    teacher = Teacher(teacher_network, weight=1.0)
    student, _ = _network(train, 2)
    batch = _batch(featurizer, train)
    student.eval()
    before = teacher.soft_loss(student, student(batch), batch).item()
    fit(
        student,
        featurizer,
        train,
        dev,
        config.replace(seed=2),
        torch.device("cpu"),
        progress=False,
        teacher=teacher,
    )
    student.eval()
    after = teacher.soft_loss(student, student(batch), batch).item()
    assert after < before / 3
