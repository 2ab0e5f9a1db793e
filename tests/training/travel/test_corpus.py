"""The generated corpus: exact slot spans on token boundaries, every intent and slot represented,
reproducible splits that do not leak train sentences or train places into the evaluation splits, and
files the ``slotfill`` readers take back unchanged."""

from __future__ import annotations

import difflib
import random
from collections import Counter
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import pytest

from slotfill.model.spans import tags_to_spans
from slotfill.model.tokenize import tokenize
from slotfill.training.data import Example
from slotfill.training.formats.detect import read_split
from slotfill.training.travel.corpus import (
    DEFAULT_SIZES,
    SLOTS,
    Utterance,
    generate,
    generate_splits,
    render,
    to_example,
    travel_grammar,
    write_corpus,
)
from slotfill.training.travel.grammar import Grammar, Piece
from slotfill.training.travel.noise import perturb
from slotfill.training.travel.phrasings import INTENT_TEMPLATES, INTENT_WEIGHTS
from slotfill.training.travel.places import load_gazetteer, without_accents

# Grammar slot -> the slot it annotates, written out here so a slip in the module's table shows.
LABELS = {"departure": "departure", "dest": "dest", "time": "time", "time_bare": "time", "time_noun": "time"}
PLACES = ("departure", "dest")
SMALL = {"train": 400, "dev": 50, "test": 50, "unseen": 50}
SEED = 2026


def fold(text: str) -> str:
    return without_accents(text).casefold()


@cache
def _grammar(unseen: bool) -> Grammar:
    return travel_grammar(load_gazetteer(), unseen)


@cache
def _generated() -> tuple[Utterance, ...]:
    """3000 utterances, shared by the tests that look at what the generator produces overall."""
    return tuple(generate(3000, random.Random(SEED)))


@cache
def _splits(sizes: tuple[tuple[str, int], ...], seed: int) -> dict[str, list[Example]]:
    return generate_splits(dict(sizes), seed)


@cache
def _place_forms() -> tuple[frozenset[str], frozenset[str]]:
    """Every folded form of a seen place, and of a held-out one, over all the gazetteer's pools."""
    pools = load_gazetteer().pools.values()
    seen = frozenset(fold(form) for pool in pools for place in pool.seen for form in place.forms)
    unseen = frozenset(fold(form) for pool in pools for place in pool.unseen for form in place.forms)
    return seen, unseen


@cache
def _unseen_values() -> frozenset[str]:
    """The folded departure and dest values of 600 utterances generated from held-out places."""
    return frozenset(
        fold(utterance.text[start:end])
        for utterance in generate(600, random.Random(SEED), unseen=True)
        for label, start, end in utterance.slots
        if label in PLACES
    )


def splits(sizes: Mapping[str, int] = SMALL, seed: int = SEED) -> dict[str, list[Example]]:
    """``generate_splits``, memoised: several tests compare the same small corpus."""
    return _splits(tuple(sizes.items()), seed)


def slot_values(example: Example, labels: tuple[str, ...] = PLACES) -> list[tuple[str, str]]:
    """(slot, text) of every span of the given slots, read back from the tags and token offsets."""
    assert example.text is not None and example.offsets is not None
    values = []
    for span in tags_to_spans(example.tags):
        if span.label in labels:
            start, end = example.offsets[span.start][0], example.offsets[span.end - 1][1]
            values.append((span.label, example.text[start:end]))
    return values


def char_spans(example: Example) -> set[tuple[str, int, int]]:
    assert example.offsets is not None
    return {
        (span.label, example.offsets[span.start][0], example.offsets[span.end - 1][1])
        for span in tags_to_spans(example.tags)
    }


# render() and to_example().


def test_render_joins_words_with_single_spaces_and_records_slot_spans() -> None:
    pieces = [Piece("fly"), Piece("to"), Piece("São Paulo", "dest"), Piece("on"), Piece("Nov. 2nd", "time")]
    utterance = render(pieces, "find_trip")
    assert utterance == Utterance(
        "fly to São Paulo on Nov. 2nd", (("dest", 7, 16), ("time", 20, 28)), "find_trip"
    )


def test_render_sticks_punctuation_to_the_word_before() -> None:
    pieces = [Piece("hey"), Piece(","), Piece("Denver", "dest"), Piece("?")]
    utterance = render(pieces, "find_trip")
    assert utterance.text == "hey, Denver?"
    assert utterance.slots == (("dest", 5, 11),)


def test_render_maps_grammar_slots_to_corpus_slots_and_drops_the_others() -> None:
    pieces = [
        Piece("the"),
        Piece("morning", "time_noun"),
        Piece("flight"),
        Piece("via"),
        Piece("Dallas", "place"),
        Piece("on"),
        Piece("Delta", "airline"),
        Piece("12", "flight_number"),
        Piece("moved"),
        Piece("to"),
        Piece("Friday", "time_bare"),
    ]
    utterance = render(pieces, "change_trip")
    assert [(label, utterance.text[start:end]) for label, start, end in utterance.slots] == [
        ("time", "morning"),
        ("time", "Friday"),
    ]


def test_to_example_tags_the_slot_tokens() -> None:
    utterance = render([Piece("from"), Piece("San Diego, CA", "departure"), Piece("?")], "find_trip")
    example = to_example(utterance)
    assert example.tokens == ("from", "San", "Diego", ",", "CA", "?")
    assert example.tags == ("O", "B-departure", "I-departure", "I-departure", "I-departure", "O")
    assert example.intent == "find_trip" and example.text == "from San Diego, CA?"
    assert example.offsets is not None
    assert [example.text[start:end] for start, end in example.offsets] == list(example.tokens)


def test_to_example_refuses_a_slot_that_splits_a_token() -> None:
    with pytest.raises(ValueError, match="not on token boundaries"):
        to_example(Utterance("to Parisian", (("dest", 3, 8),), "find_trip"))


def test_generated_slots_are_exactly_the_drawn_values_on_token_boundaries() -> None:
    # The generate() loop, written out so each slot can be compared with the piece it came from.
    intents = sorted(INTENT_WEIGHTS)
    for unseen in (False, True):
        rng = random.Random(SEED + unseen)
        for _ in range(800):
            intent = rng.choice(intents)
            pieces = perturb(_grammar(unseen).expand(f"<intent_{intent}>", rng), rng)
            utterance = render(pieces, intent)
            drawn = [(LABELS[p.label], p.text) for p in pieces if p.label in LABELS]
            assert [(label, utterance.text[start:end]) for label, start, end in utterance.slots] == drawn
            starts = {token.start for token in tokenize(utterance.text)}
            ends = {token.end for token in tokenize(utterance.text)}
            for label, start, end in utterance.slots:
                assert start in starts and end in ends, (utterance, label)
            example = to_example(utterance)
            # The tags give back exactly the slots: no two spans merged, none dropped.
            assert char_spans(example) == set(utterance.slots), utterance
            assert len(tags_to_spans(example.tags)) == len(utterance.slots), utterance


# What generate() produces.


def test_generate_never_fails_and_every_utterance_converts() -> None:
    utterances = _generated()
    assert len(utterances) == 3000
    for utterance in utterances:
        assert utterance.text == utterance.text.strip() and "  " not in utterance.text, utterance
        assert char_spans(to_example(utterance)) == set(utterance.slots), utterance


def test_every_intent_and_every_slot_appears() -> None:
    utterances = _generated()
    assert set(INTENT_WEIGHTS) == set(INTENT_TEMPLATES)
    assert {u.intent for u in utterances} == set(INTENT_WEIGHTS)
    assert {label for u in utterances for label, _, _ in u.slots} == set(SLOTS)


def test_intents_are_drawn_by_their_weights() -> None:
    counts = Counter(u.intent for u in _generated())
    for intent, weight in INTENT_WEIGHTS.items():
        # 3000 draws: a share of p lands within 4 standard deviations, sqrt(p(1-p)/3000) each.
        assert abs(counts[intent] / 3000 - weight) < 4 * (weight * (1 - weight) / 3000) ** 0.5, counts


def test_some_utterances_have_no_slot() -> None:
    without = [u for u in _generated() if not u.slots]
    assert len(without) > 100
    assert {u.intent for u in without} > {"other"}  # "I want to book a trip" has none either


def test_the_other_intent_never_names_a_trip() -> None:
    # A place in an "other" request ("the weather in Paris") is {place}, never departure or dest.
    for utterance in _generated():
        if utterance.intent == "other":
            assert not [label for label, _, _ in utterance.slots if label in PLACES], utterance


def test_the_other_intent_only_has_a_time_in_weather_and_safety_questions() -> None:
    # "what's the weather like in Paris next week", "is Paris safe in June": the time is tagged even though
    # the request is not a trip (the templates ask for {time} on purpose). Nothing else in "other" is a slot.
    timed = [u for u in _generated() if u.intent == "other" and u.slots]
    assert timed
    for utterance in timed:
        assert {label for label, _, _ in utterance.slots} == {"time"}, utterance
        words = utterance.text.casefold().split()
        cues = ("weather", "nice", "safe", "expensive")  # close matches: a typo may hit the cue word
        assert any(difflib.get_close_matches(w.strip("?!."), cues, cutoff=0.75) for w in words), utterance


def test_generate_is_deterministic_for_a_seed() -> None:
    assert generate(200, random.Random(5)) == generate(200, random.Random(5))
    assert generate(200, random.Random(5)) != generate(200, random.Random(6))


def test_generate_unseen_uses_held_out_places_only() -> None:
    seen, unseen = _place_forms()
    values = _unseen_values()
    exact = values & (seen | unseen)
    assert len(exact) > 0.9 * len(values)  # the rest carry a typo
    assert exact <= unseen


# Splits.


def test_splits_have_the_sizes_asked_for_in_order() -> None:
    corpus = splits()
    assert list(corpus) == list(SMALL)
    assert {split: len(examples) for split, examples in corpus.items()} == SMALL
    assert DEFAULT_SIZES["train"] > DEFAULT_SIZES["dev"] == DEFAULT_SIZES["test"] == DEFAULT_SIZES["unseen"]


def test_splits_are_deterministic_for_a_seed_and_differ_for_another() -> None:
    first = splits()
    assert generate_splits(SMALL, SEED) == first
    other = splits(seed=SEED + 1)
    for split in SMALL:
        assert other[split] != first[split], split


@pytest.mark.parametrize("split", ["dev", "test", "unseen"])
def test_changing_one_evaluation_split_size_leaves_the_other_splits_unchanged(split: str) -> None:
    base = splits()
    for size in (10, 120):
        changed = splits({**SMALL, split: size})
        assert len(changed[split]) == size
        assert base[split][: min(size, SMALL[split])] == changed[split][: min(size, SMALL[split])]
        for other in SMALL:
            if other != split:
                assert changed[other] == base[other], (split, size, other)


def test_a_bigger_train_changes_only_the_evaluation_sentences_it_repeats() -> None:
    """Repeats of train sentences are replaced in place, so a learning curve over train sizes is scored
    on the same evaluation sentences, but for the few a bigger train happens to contain."""
    base = splits()
    changed = splits({**SMALL, "train": 2000})
    for split in ("dev", "test", "unseen"):
        assert len(changed[split]) == len(base[split])
        same = sum(before == after for before, after in zip(base[split], changed[split], strict=True))
        assert same >= 0.8 * len(base[split]), split


def test_evaluation_splits_never_repeat_a_train_sentence() -> None:
    for corpus in (splits(), splits(seed=7)):
        train = {example.text.casefold() for example in corpus["train"] if example.text is not None}
        for split in ("dev", "test", "unseen"):
            repeated = [e.text for e in corpus[split] if e.text is not None and e.text.casefold() in train]
            assert not repeated, (split, repeated)


def test_the_unseen_split_names_no_place_train_names() -> None:
    # Holds for this corpus. At the default sizes, 5 of the 1323 places the unseen split names (2 distinct
    # names: "Brisbane", "Francistown") also occur in train, all through the airport hold-out bug that
    # test_places.py marks; no collision there comes from a typo or accent stripping.
    for seed in (SEED, 7):
        corpus = splits(seed=seed)
        train = {fold(text) for example in corpus["train"] for _, text in slot_values(example)}
        unseen = {fold(text) for example in corpus["unseen"] for _, text in slot_values(example)}
        assert unseen and train
        assert not unseen & train, (seed, sorted(unseen & train))


# Measured on 600 generated unseen utterances: 46 of the 475 distinct place values are also a form of a
# seen place ("Adana", "Brisbane", "Cairo", "Columbus Municipal Airport", ...), which a big enough train
# split then contains.
def test_the_unseen_split_never_writes_a_place_the_way_a_seen_place_is_written() -> None:
    seen, _ = _place_forms()
    values = _unseen_values()
    assert not values & seen, f"{len(values & seen)} of {len(values)}: {sorted(values & seen)[:10]}"


# Files.


def test_write_corpus_writes_jsonl_that_reads_back_the_same(tmp_path: Path) -> None:
    counts = write_corpus(tmp_path, SMALL, SEED)
    assert counts == SMALL
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(f"{split}.jsonl" for split in SMALL)
    corpus = splits()
    for split in SMALL:
        read = read_split(tmp_path, split, "jsonl")
        assert [(e.tokens, e.tags, e.intent) for e in read] == [
            (e.tokens, e.tags, e.intent) for e in corpus[split]
        ]
        assert [e.text for e in read] == [e.text for e in corpus[split]]


def test_write_corpus_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    write_corpus(tmp_path / "a", SMALL, SEED)
    write_corpus(tmp_path / "b", SMALL, SEED)
    for split in SMALL:
        name = f"{split}.jsonl"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
