"""``fit_members``: member i is the network a single run with seed + i trains, in or out of process."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

import slotfill.training.members
from slotfill.model.config import ModelOptions
from slotfill.model.ensemble import TaggerEnsemble
from slotfill.training.builder import build_model
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.members import PARALLEL_MIN_UTTERANCES, fit_members, member_jobs
from slotfill.training.seeding import seed_everything
from slotfill.training.trainer import FitResult, fit

SMALL = ModelOptions(word_dim=8, trigram_dim=8, hidden_size=8, trigram_buckets=128)
QUICK = TrainConfig(epochs=3, batch_size=8, lr=1e-2, patience=3, slot_swap=0.5, seed=5, members=2)

Data = tuple[list[Example], list[Example]]


def _single(train: list[Example], dev: list[Example], seed: int) -> dict[str, torch.Tensor]:
    seed_everything(seed)
    model, featurizer = build_model(train, SMALL)
    fit(
        model,
        featurizer,
        train,
        dev,
        QUICK.replace(seed=seed),
        torch.device("cpu"),
        progress=False,
    )
    return model.state_dict()


def _ensemble(train: list[Example], dev: list[Example], jobs: int) -> TaggerEnsemble:
    seed_everything(QUICK.seed)
    network, featurizer = build_model(train, SMALL)
    config = network.config.replace(members=2)
    settings = QUICK.replace(jobs=jobs)
    ensemble, results = fit_members(
        config, featurizer, train, dev, settings, torch.device("cpu"), progress=False
    )
    assert [len(r.history) for r in results] == [3, 3]
    assert isinstance(ensemble, TaggerEnsemble)
    return ensemble


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_member_i_is_the_single_network_of_seed_plus_i(travel_data: Data) -> None:
    train, dev = travel_data
    ensemble = _ensemble(train, dev, jobs=1)
    for index, member in enumerate(ensemble.members):
        assert _same(member.state_dict(), _single(train, dev, QUICK.seed + index)), index
    assert not _same(ensemble.members[0].state_dict(), ensemble.members[1].state_dict())


def test_members_trained_in_parallel_processes_are_the_same_networks(travel_data: Data) -> None:
    """The worker processes (spawned, weights back as safetensors bytes) train what this process
    trains; the tests run torch on one thread, as each worker does here."""
    train, dev = travel_data
    in_process = _ensemble(train, dev, jobs=1)
    parallel = _ensemble(train, dev, jobs=2)
    assert _same(parallel.state_dict(), in_process.state_dict())


def test_the_ensemble_crf_is_the_members_mean(travel_data: Data) -> None:
    train, dev = travel_data
    ensemble = _ensemble(train, dev, jobs=1)
    assert ensemble.crf is not None
    tables = torch.stack([m.crf.transitions for m in ensemble.members])  # type: ignore[union-attr]
    assert torch.allclose(ensemble.crf.transitions, tables.mean(0))


@pytest.mark.parametrize(
    ("members", "jobs", "utterances", "threads", "expected"),
    [
        (2, 0, PARALLEL_MIN_UTTERANCES, 2, 2),
        (3, 0, PARALLEL_MIN_UTTERANCES, 2, 2),
        (2, 0, PARALLEL_MIN_UTTERANCES, 1, 1),  # OMP_NUM_THREADS=1: one core, one member at a time
        (2, 0, PARALLEL_MIN_UTTERANCES - 1, 8, 1),  # small data: starting processes costs more
        (2, 4, 10, 1, 2),  # asked for: never more than there are members
        (3, 1, 10**6, 8, 1),
    ],
)
def test_member_jobs(members: int, jobs: int, utterances: int, threads: int, expected: int) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert member_jobs(TrainConfig(members=members, jobs=jobs), utterances) == expected
    finally:
        torch.set_num_threads(before)


def test_bad_member_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="members: Input should be greater than or equal to 1, got 0"):
        TrainConfig(members=0)
    with pytest.raises(ValueError, match="jobs: Input should be greater than or equal to 0, got -1"):
        TrainConfig(jobs=-1)


@pytest.mark.parametrize(("stopped_at", "kept"), [(0, 1), (1, 2)])
def test_ctrl_c_one_after_another_keeps_the_members_trained_so_far(
    stopped_at: int, kept: int, travel_data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members after the interrupted one are not trained; one member left is a plain network."""
    train, dev = travel_data
    started: list[int] = []
    real_fit = slotfill.training.members.fit

    def fit_until_interrupted(*args: Any, **kwargs: Any) -> FitResult:
        started.append(kwargs["member"])
        result = real_fit(*args, **kwargs)
        return dataclasses.replace(result, interrupted=kwargs["member"] == stopped_at)

    monkeypatch.setattr(slotfill.training.members, "fit", fit_until_interrupted)
    seed_everything(QUICK.seed)
    network, featurizer = build_model(train, SMALL)
    config = network.config.replace(members=3)
    settings = QUICK.replace(members=3, jobs=1)
    model, results = fit_members(
        config, featurizer, train, dev, settings, torch.device("cpu"), progress=False
    )
    assert started == list(range(stopped_at + 1))
    assert len(results) == kept and results[-1].interrupted
    assert model.config.members == kept
    assert isinstance(model, TaggerEnsemble) == (kept > 1)
