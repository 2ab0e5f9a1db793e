"""The model config: bad settings fail at construction, naming the field; JSON round trips exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from slotfill.model.config import ModelConfig

TAGS = ("O", "B-dest", "I-dest")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"word_dim": 0}, "word_dim"),
        ({"trigram_dim": -1}, "trigram_dim"),
        ({"trigram_buckets": 0}, "trigram_buckets"),
        ({"spm_dim": 0}, "spm_dim"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"num_layers": 0}, "num_layers"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"dropout": float("nan")}, "dropout"),
        ({"word_dropout": 1.5}, "word_dropout"),
        ({"cell": "transformer"}, "cell"),
        ({"cell": "LSTM"}, "cell"),
        ({"encoders": ()}, "encoders"),
        ({"encoders": ("word", "bert")}, "encoders"),
        ({"encoders": ("word", "word")}, "encoders"),
        ({"slot_tags": ()}, "slot_tags"),
        ({"slot_tags": ("B-dest", "I-dest")}, "slot_tags"),
        ({"intent_token_votes": "yes"}, "intent_token_votes"),
        ({"slot_temperature": 0.0}, "slot_temperature"),
        ({"slot_temperature": float("inf")}, "slot_temperature"),
        ({"slot_temperature": float("nan")}, "slot_temperature"),
        ({"intent_temperature": -1.0}, "intent_temperature"),
        ({"intent_temperature": True}, "intent_temperature"),
        ({"intent_temperature": "2"}, "intent_temperature"),
    ],
)
def test_invalid_settings_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ModelConfig(**({"slot_tags": TAGS} | settings))


def test_sizes_must_be_integers() -> None:
    with pytest.raises(ValueError, match="hidden_size"):
        ModelConfig(slot_tags=TAGS, hidden_size=16.5)  # type: ignore[arg-type]


def test_slot_tags_must_be_bio() -> None:
    with pytest.raises(ValueError, match="slot_tags"):
        ModelConfig(slot_tags=("O", "dest"), crf=False)


def test_defaults_are_valid_and_frozen() -> None:
    config = ModelConfig(slot_tags=TAGS)
    assert config.encoders == ("word", "trigram")
    assert config.encoder_dim == 2 * config.hidden_size
    with pytest.raises(ValidationError, match="frozen"):
        config.hidden_size = 3  # type: ignore[misc]


def test_encoder_dim() -> None:
    assert ModelConfig(slot_tags=TAGS, hidden_size=7, bidirectional=True).encoder_dim == 14
    assert ModelConfig(slot_tags=TAGS, hidden_size=7, bidirectional=False).encoder_dim == 7


def test_dict_round_trip_through_json() -> None:
    config = ModelConfig(
        slot_tags=TAGS,
        intents=("airfare", "flight"),
        encoders=("spm", "word"),
        word_dim=3,
        cell="irnn",
        num_layers=2,
        bidirectional=False,
        crf=False,
        dropout=0.0,
        intent_pooling="maxmean",
        intent_token_votes=True,
    )
    data = json.loads(json.dumps(config.to_dict()))
    again = ModelConfig.from_dict(data)
    assert again == config
    assert isinstance(again.slot_tags, tuple)
    assert isinstance(again.intents, tuple)
    assert isinstance(again.encoders, tuple)
    assert again.to_dict() == config.to_dict()


def test_from_dict_fills_defaults() -> None:
    data = {"slot_tags": list(TAGS), "weights_dtype": "float16"}
    assert ModelConfig.from_dict(data) == ModelConfig(slot_tags=TAGS)


def test_a_setting_missing_from_an_older_artifact_rebuilds_the_older_network() -> None:
    # Token votes and ensembles came after the format was fixed: an artifact without the keys is
    # one network without a vote layer, and its weights were saved in float32.
    older = ModelConfig.from_dict({"slot_tags": list(TAGS)})
    assert older.intent_token_votes is False
    assert older.members == 1
    assert older.weights_dtype == "float32"


def test_members_and_weights_dtype_are_checked() -> None:
    with pytest.raises(ValueError, match="members: Input should be greater than or equal to 1, got 0"):
        ModelConfig(slot_tags=TAGS, members=0)
    with pytest.raises(ValueError, match="weights_dtype: Input should be 'float16' or 'float32', got 'int8'"):
        ModelConfig(slot_tags=TAGS, weights_dtype="int8")


def test_from_dict_refuses_unknown_keys() -> None:
    data = ModelConfig(slot_tags=TAGS).to_dict() | {"attention_heads": 4, "layer_norm": True}
    with pytest.raises(ValueError, match=r"unknown model settings \['attention_heads', 'layer_norm'\]"):
        ModelConfig.from_dict(data)


def test_from_dict_validates() -> None:
    with pytest.raises(ValueError, match="hidden_size"):
        ModelConfig.from_dict({"slot_tags": list(TAGS), "hidden_size": 0})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"clockwork_periods": ()}, "clockwork_periods"),
        ({"clockwork_periods": (0, 2)}, "clockwork_periods"),
        ({"clockwork_periods": (2, 1)}, "clockwork_periods: .*ascending"),
        ({"clockwork_periods": (1, 1)}, "clockwork_periods: .*distinct"),
        ({"cell": "clockwork", "hidden_size": 3}, "clockwork_periods: 4 modules .* hidden_size is 3"),
        ({"cell": "scrn", "hidden_size": 1}, "hidden_size: scrn needs"),
        ({"scrn_context_share": 1.0}, "scrn_context_share"),
        ({"scrn_context_share": 0.0}, "scrn_context_share"),
    ],
)
def test_cell_settings_are_checked(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelConfig(**({"slot_tags": TAGS} | settings))


def test_cell_settings_matter_only_for_their_cell() -> None:
    ModelConfig(slot_tags=TAGS, cell="lstm", hidden_size=3)  # four clockwork periods, unused
    ModelConfig(slot_tags=TAGS, cell="clockwork", hidden_size=3, clockwork_periods=(1, 4, 16))


def test_cell_settings_round_trip_through_json() -> None:
    config = ModelConfig(slot_tags=TAGS, cell="clockwork", clockwork_periods=(1, 3, 9))
    again = ModelConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.clockwork_periods == (1, 3, 9)
