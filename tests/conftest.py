"""Shared fixtures: one tiny tagger, trained once per session on hand-made travel utterances."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from slotfill.model.artifact import save_artifact
from slotfill.model.config import ModelOptions
from slotfill.model.predictor import Predictor
from slotfill.training.builder import build_model
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.seeding import seed_everything
from slotfill.training.trainer import fit


def pytest_configure(config: pytest.Config) -> None:
    # Tests use tiny tensors: extra threads only fight over the cores (here 2, shared with training
    # jobs), which made a 0.8 s test take 8 s.
    torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the default model (a minute and more to train) is slow, marked or not:
    one missed mark would cost the quick loop (``-m "not slow"``) that minute."""
    for item in items:
        if "default_model_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


TINY_SETTINGS = ModelOptions(word_dim=16, trigram_dim=16, hidden_size=16, trigram_buckets=512)
# No slot swap: 32 utterances of 8 cities gain nothing from it. The model is trained during the
# run, so it carries the machine's rounding: tests assert its exact tags only on sentences it is
# sure of, and tests/model/test_predictor.py checks that it is (TAGS_ASSERTED).
TINY_TRAINING = TrainConfig(epochs=30, batch_size=8, lr=1e-2, patience=30, slot_swap=0.0, seed=0)

_CITIES = ("taipei", "boston", "denver", "tokyo", "paris", "seattle", "dallas", "london")
_DATES = (
    ("november 2nd", "B-time I-time"),
    ("monday", "B-time"),
    ("june 5th", "B-time I-time"),
    ("friday", "B-time"),
    ("march 3rd", "B-time I-time"),
)


def example(text: str, tags: str, intent: str | None) -> Example:
    """An utterance from whitespace-separated tokens and tags."""
    return Example(tuple(text.split()), tuple(tags.split()), intent)


def travel_train() -> list[Example]:
    """32 utterances: "arrive X" is a destination, "leave X" a departure, "from X to Y" both."""
    train = []
    dates = iter(_DATES * 4)
    for city in _CITIES:
        date, tags = next(dates)
        train.append(example(f"arrive {city} on {date}", f"O B-dest O {tags}", "flight"))
        date, tags = next(dates)
        train.append(example(f"leave {city} on {date}", f"O B-departure O {tags}", "flight"))
    for start, end in zip(_CITIES, _CITIES[1:] + _CITIES[:1], strict=True):
        train.append(example(f"fly from {start} to {end}", "O O B-departure O B-dest", "flight"))
    for start, end in zip(_CITIES[:6], (_CITIES[3:] + _CITIES[:3])[:6], strict=True):
        train.append(
            example(
                f"how much is a ticket from {start} to {end}", "O O O O O O B-departure O B-dest", "airfare"
            )
        )
    train.append(example("cheapest fare to tokyo", "O O O B-dest", "airfare"))
    train.append(example("price of flights to paris", "O O O O B-dest", "airfare"))
    return train


def travel_dev() -> list[Example]:
    return [
        example("arrive taipei on november 2nd", "O B-dest O B-time I-time", "flight"),
        example("leave taipei on november 2nd", "O B-departure O B-time I-time", "flight"),
        example("arrive miami on friday", "O B-dest O B-time", "flight"),
        example("leave miami on monday", "O B-departure O B-time", "flight"),
        example("fly from miami to boston", "O O B-departure O B-dest", "flight"),
        example("how much is a ticket from denver to miami", "O O O O O O B-departure O B-dest", "airfare"),
    ]


@pytest.fixture(scope="session")
def tiny_settings() -> ModelOptions:
    """The model settings of the tiny model, for tests that train their own."""
    return TINY_SETTINGS


@pytest.fixture(scope="session")
def travel_data() -> tuple[list[Example], list[Example]]:
    """(train, dev) of the tiny model."""
    return travel_train(), travel_dev()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved model folder (read-only by convention: copy it before tampering)."""
    seed_everything(TINY_TRAINING.seed)
    train = travel_train()
    model, featurizer = build_model(train, TINY_SETTINGS)
    fit(model, featurizer, train, travel_dev(), TINY_TRAINING, torch.device("cpu"), progress=False)
    folder = tmp_path_factory.mktemp("tiny") / "model"
    save_artifact(folder, model, featurizer)
    return folder


@pytest.fixture(scope="session")
def tiny_predictor(tiny_model_dir: Path) -> Predictor:
    return Predictor.load(tiny_model_dir, device="cpu")


@pytest.fixture(scope="session")
def default_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled default model, trained exactly as ``make run`` trains it (about a minute).

    Trained here rather than taken from ``models/default``, which may be stale or absent: the tests
    judge what the current generator and settings produce. Both cores are used while it trains.
    """
    from slotfill.training.travel.default import build_default

    root = tmp_path_factory.mktemp("default")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        build_default(root / "model", root / "data", progress=False, device="cpu")
    finally:
        torch.set_num_threads(threads)
    return root / "model"
