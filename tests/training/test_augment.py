"""Slot-value swapping: labels stay aligned with the tokens they came with, contexts are kept."""

from __future__ import annotations

import pytest

from slotfill.model.batch import Features
from slotfill.model.config import ModelOptions
from slotfill.training.augment import SlotSwapper
from slotfill.training.builder import build_model
from slotfill.training.data import Example

TRAIN = [
    Example(("fly", "to", "new", "york"), ("O", "O", "B-dest", "I-dest"), "find"),
    Example(("arrive", "boston", "at", "noon"), ("O", "B-dest", "O", "B-time"), "find"),
    Example(("leave", "paris", "tomorrow", "morning"), ("O", "B-dep", "B-time", "I-time"), "find"),
    Example(("hello",), ("O",), "other"),
    Example(("book", "rome"), ("O", "B-dest"), "book"),
]
SETTINGS = ModelOptions(word_dim=4, trigram_dim=4, hidden_size=4, trigram_buckets=64)


def _swapper(rate: float, seed: int = 0, by_intent: bool = True) -> SlotSwapper:
    model, featurizer = build_model(TRAIN, SETTINGS)
    names = model.config.slot_tags
    index = {tag: i for i, tag in enumerate(names)}
    features = [featurizer.featurize(e.tokens) for e in TRAIN]
    tag_ids = [[index[t] for t in e.tags] for e in TRAIN]
    intents = sorted({e.intent for e in TRAIN if e.intent})
    groups = [intents.index(e.intent or "") for e in TRAIN] if by_intent else None
    return SlotSwapper(features, tag_ids, names, rate, seed, groups)


def _tokens_by_feature(features: Features) -> list[tuple[int, tuple[int, ...]]]:
    return list(zip(features.ids["word"], features.bags["trigram"], strict=True))


def _token_table() -> dict[tuple[int, tuple[int, ...]], tuple[str, str]]:
    """Every training token's features -> (word, tag): an oracle for what a swap may produce."""
    _, featurizer = build_model(TRAIN, SETTINGS)
    table = {}
    for example in TRAIN:
        features = featurizer.featurize(example.tokens)
        for key, word, tag in zip(_tokens_by_feature(features), example.tokens, example.tags, strict=True):
            table[key] = (word, tag)
    return table


def test_rate_zero_gives_every_utterance_unchanged() -> None:
    swapper = _swapper(0.0)
    for i in range(len(TRAIN)):
        features, tags = swapper.draw(i)
        assert features is swapper.features[i]
        assert tags == list(swapper.tag_ids[i])


def test_swaps_keep_the_context_and_give_each_value_its_own_tags() -> None:
    swapper = _swapper(1.0, seed=3)
    table = _token_table()
    names = build_model(TRAIN, SETTINGS)[0].config.slot_tags
    seen_values: set[str] = set()
    for _ in range(50):
        features, tags = swapper.draw(1)  # "arrive <dest> at <time>"
        words_tags = [table[key] for key in _tokens_by_feature(features)]
        assert len(tags) == len(features) == len(features.bags["trigram"])
        # Each token carries the very tag it had where it came from.
        assert [names[t] for t in tags] == [tag for _, tag in words_tags]
        words = [w for w, _ in words_tags]
        assert words[0] == "arrive" and "at" in words
        labels = [tag.partition("-")[2] for _, tag in words_tags if tag != "O"]
        assert set(labels) == {"dest", "time"}  # a dest stays a dest, a time a time
        seen_values.add(" ".join(w for w, tag in words_tags if tag.endswith("dest")))
    assert seen_values == {"boston", "new york"}  # both dest values of its intent were drawn


def test_values_come_from_utterances_of_the_same_intent_when_intents_are_given() -> None:
    table = _token_table()

    def destinations(swapper: SlotSwapper) -> set[str]:
        drawn = [swapper.draw(1)[0] for _ in range(60)]
        return {
            " ".join(table[key][0] for key in _tokens_by_feature(f) if table[key][1].endswith("dest"))
            for f in drawn
        }

    # "rome" is a dest of a "book" utterance: not a value for the "find" utterance being swapped...
    assert destinations(_swapper(1.0, seed=1)) == {"boston", "new york"}
    # ...unless intents are not given, when any dest of the data may come.
    assert destinations(_swapper(1.0, seed=1, by_intent=False)) == {"boston", "new york", "rome"}


def test_an_utterance_without_slots_is_never_changed() -> None:
    swapper = _swapper(1.0)
    features, tags = swapper.draw(3)
    assert features is swapper.features[3] and tags == list(swapper.tag_ids[3])


def test_the_same_seed_draws_the_same_swaps() -> None:
    first = _swapper(0.5, seed=7)
    second = _swapper(0.5, seed=7)
    draws = [(first.draw(i % 3), second.draw(i % 3)) for i in range(30)]
    assert all(a == b for a, b in draws)


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_rate_outside_zero_to_one_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be in"):
        _swapper(rate)
