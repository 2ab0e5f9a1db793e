"""The bundled default model, trained as ``make run`` trains it, on the sentences the product promises.

The seed sentences are the product's contract; the others are requests a person might type, in forms
the generator never wrote verbatim (unseen phrasings and places, mixed case, punctuation).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from slotfill.model.predictor import Predictor
from slotfill.training import members
from slotfill.training.data import Example
from slotfill.training.formats import write_split
from slotfill.training.trainer import EpochLog, FitResult, fit
from slotfill.training.travel import default
from slotfill.training.travel.default import RECIPE_FILE, UNSEEN_SPLIT, build_default, model_is_usable, recipe

# text -> {value: slot}, every slot of the sentence (an extra or a missing slot fails).
EXPECTED: dict[str, dict[str, str]] = {
    "arrive Taipei on November 2nd": {"Taipei": "dest", "November 2nd": "time"},
    "leave Taipei on November 2nd": {"Taipei": "departure", "November 2nd": "time"},
    "I want to fly from New York to São Paulo next Friday": {
        "New York": "departure",
        "São Paulo": "dest",
        "next Friday": "time",
    },
    "show me flights from boston to denver tomorrow morning": {
        "boston": "departure",
        "denver": "dest",
        "tomorrow morning": "time",
    },
    "how much is a train ticket from Paris to Lyon on 2 Nov": {
        "Paris": "departure",
        "Lyon": "dest",
        "2 Nov": "time",
    },
    "book a flight to Ho Chi Minh City for the 11th of this month": {
        "Ho Chi Minh City": "dest",
        "11th of this month": "time",
    },
    "when does the last bus from Seattle leave tonight": {"Seattle": "departure", "tonight": "time"},
    "i need to get to Tokyo by 6:30 pm": {"Tokyo": "dest", "by 6:30 pm": "time"},
    "Heading to Nairobi in two weeks": {"Nairobi": "dest", "in two weeks": "time"},
    "cancel my flight to Reykjavik": {"Reykjavik": "dest"},
    "leaving Chicago after 5 pm and arriving in Toronto before midnight": {
        "Chicago": "departure",
        "after 5 pm": "time",
        "Toronto": "dest",
        "before midnight": "time",
    },
    "is there a flight out of JFK into Heathrow on Monday": {
        "JFK": "departure",
        "Heathrow": "dest",
        "Monday": "time",
    },
    "I'm in Lagos and need to get to Accra on Friday morning": {
        "Lagos": "departure",
        "Accra": "dest",
        "Friday morning": "time",
    },
    "flights from Kyiv to Vilnius on the 3rd of next month": {
        "Kyiv": "departure",
        "Vilnius": "dest",
        "3rd of next month": "time",
    },
    "what's the weather like in Berlin": {},
    "hello": {},
}


@pytest.fixture(scope="module")
def predictor(default_model_dir: Path) -> Predictor:
    return Predictor.load(default_model_dir, device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("text", list(EXPECTED))
def test_the_default_model_tags_travel_requests(predictor: Predictor, text: str) -> None:
    parse = predictor.parse(text)
    got = {slot.value: slot.slot for slot in parse.slots}
    assert got == EXPECTED[text]
    for slot in parse.slots:
        assert text[slot.start : slot.end] == slot.value


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("how much is a ticket from Oslo to Rome", "ask_fare"),
        ("cancel my flight to Reykjavik", "cancel_trip"),
        ("when does the next train to Munich leave", "ask_schedule"),
        ("move my flight to Thursday", "change_trip"),
        ("thank you!", "other"),
    ],
)
def test_the_default_model_knows_intents(predictor: Predictor, text: str, intent: str) -> None:
    parse = predictor.parse(text)
    assert parse.intent is not None
    assert parse.intent.intent == intent


@pytest.mark.slow
def test_metrics_include_the_held_out_places(default_model_dir: Path) -> None:
    """The unseen split (places never in training) is scored into metrics.json beside dev and test."""
    metrics = json.loads((default_model_dir / "metrics.json").read_text())
    for split in ("dev", "test", UNSEEN_SPLIT):
        assert metrics[split]["utterances"] == 1000
        assert metrics[split]["slot_f1"] > 0.9, split


@pytest.mark.slow
def test_a_usable_model_is_not_trained_again(default_model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "default"
    shutil.copytree(default_model_dir, copy)
    before = (copy / "model.safetensors").stat().st_mtime_ns
    assert build_default(copy, tmp_path / "no-data-needed", progress=False) is None
    assert (copy / "model.safetensors").stat().st_mtime_ns == before
    assert not (tmp_path / "no-data-needed").exists()


@pytest.mark.slow
def test_a_damaged_model_is_not_usable(default_model_dir: Path, tmp_path: Path) -> None:
    """So ``make run`` trains again instead of serving it (or failing) after an interrupted run."""
    copy = tmp_path / "default"
    shutil.copytree(default_model_dir, copy)
    assert model_is_usable(copy)
    (copy / "model.safetensors").write_bytes(b"truncated")
    assert not model_is_usable(copy)
    assert not model_is_usable(tmp_path / "missing")


def test_an_interrupted_build_leaves_no_model_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, travel_data: tuple[list[Example], list[Example]]
) -> None:
    """Ctrl-C keeps the best epoch of ``slotfill train``, but the default model is the whole recipe:
    a model from an interrupted build must not be moved into place for ``make run`` to serve."""
    train, dev = travel_data
    data = tmp_path / "data"
    for split, examples in (("train", train), ("dev", dev), ("test", dev), (UNSEEN_SPLIT, dev)):
        write_split(examples, data, split, "jsonl")  # present, so the build uses it as its corpus

    def ctrl_c_in_epoch_2(*args: Any, **kwargs: Any) -> FitResult:
        def press(entry: EpochLog) -> None:
            if entry.epoch == 2:
                raise KeyboardInterrupt

        return fit(*args, **kwargs, on_epoch=press)

    monkeypatch.setattr(members, "fit", ctrl_c_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        build_default(tmp_path / "default", data, progress=False, device="cpu")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no model, no staging folder


def test_a_model_made_by_another_recipe_is_trained_again(default_model_dir: Path, tmp_path: Path) -> None:
    """After a change to the corpus generator or the settings, ``make run`` must not serve the old model."""
    copy = tmp_path / "default"
    shutil.copytree(default_model_dir, copy)
    assert model_is_usable(copy)
    (copy / RECIPE_FILE).write_text(json.dumps({"recipe": "made by an older checkout"}))
    assert not model_is_usable(copy)
    (copy / RECIPE_FILE).unlink()
    assert not model_is_usable(copy)


def test_the_recipe_changes_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    before = recipe()
    assert recipe() == before
    monkeypatch.setattr(default, "TRAINING", default.TRAINING.replace(epochs=default.TRAINING.epochs + 1))
    assert recipe() != before
