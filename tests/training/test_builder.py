"""Sizing a fresh tagger for its training data: label sets, vocabulary, optional subword model."""

from __future__ import annotations

import logging

import pytest

from slotfill.model.config import ModelOptions
from slotfill.training.builder import build_model, label_sets
from slotfill.training.data import Example

SMALL = ModelOptions(word_dim=8, trigram_dim=8, hidden_size=8, trigram_buckets=256)


def ex(text: str, tags: str, intent: str | None = None) -> Example:
    return Example(tuple(text.split()), tuple(tags.split()), intent)


def test_o_first_then_b_and_i_of_every_type_sorted() -> None:
    train = [
        ex("leave boston on monday", "O B-departure O B-time", "flight"),
        ex("arrive taipei", "O B-dest", "flight"),
    ]
    tags, _ = label_sets(train)
    assert tags == ("O", "B-departure", "I-departure", "B-dest", "I-dest", "B-time", "I-time")


def test_a_type_seen_only_with_i_still_gets_both_tags() -> None:
    tags, _ = label_sets([ex("november 2nd", "O I-time")])
    assert tags == ("O", "B-time", "I-time")


def test_only_o_gives_only_o() -> None:
    assert label_sets([ex("hello there", "O O", "greet")]) == (("O",), ("greet",))


def test_intents_are_sorted_and_unique_when_every_example_has_one() -> None:
    train = [ex("a", "O", "flight"), ex("b", "O", "airfare"), ex("c", "O", "flight")]
    assert label_sets(train)[1] == ("airfare", "flight")


def test_no_intents_when_none_has_one() -> None:
    assert label_sets([ex("a", "O"), ex("b", "O")])[1] == ()


def test_no_intents_and_a_warning_when_only_some_have_one(caplog: pytest.LogCaptureFixture) -> None:
    train = [ex("a", "O", "flight"), ex("b", "O"), ex("c", "O", "airfare")]
    with caplog.at_level(logging.WARNING, logger="slotfill.training.builder"):
        assert label_sets(train)[1] == ()
    assert "only 2 of 3 training utterances have an intent" in caplog.text


def test_build_model_sizes_the_tagger_for_the_data(travel_data: tuple[list[Example], list[Example]]) -> None:
    train, _ = travel_data
    model, featurizer = build_model(train, SMALL)
    assert model.config.slot_tags == label_sets(train)[0]
    assert model.config.intents == ("airfare", "flight")
    assert (model.config.hidden_size, model.config.word_dim) == (8, 8)
    words = {token for example in train for token in example.tokens}
    assert featurizer.sizes == {"word": len(words) + 2, "trigram": SMALL.trigram_buckets}  # + pad, other
    assert model.embedder.table("word").get_parameter("weight").shape[0] == len(words) + 2


def test_build_model_trains_a_subword_model_only_for_spm(
    travel_data: tuple[list[Example], list[Example]],
) -> None:
    train, _ = travel_data
    _, featurizer = build_model(
        train, SMALL.model_copy(update={"encoders": ("word", "spm"), "spm_vocab_size": 60})
    )
    assert 0 < featurizer.sizes["spm"] <= 60
    assert featurizer.featurize(["taipei"]).bags.keys() == {"spm"}
    assert featurizer.save().keys() == {"vocab.json", "spm.model"}


def test_build_model_refuses_bad_settings_naming_them() -> None:
    with pytest.raises(ValueError, match=r"hidden_size: .*, got 0"):
        build_model([ex("arrive taipei", "O B-dest")], SMALL.model_copy(update={"hidden_size": 0}))
