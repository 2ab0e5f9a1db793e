"""Noise: typos that stay inside a word and keep it recognisable, and a perturbation that may change how
a sentence looks but never which words are a slot, nor where a slot starts and ends."""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotfill.training.travel.corpus import travel_grammar
from slotfill.training.travel.grammar import Grammar, Piece
from slotfill.training.travel.noise import is_question, perturb, typo
from slotfill.training.travel.phrasings import INTENT_TEMPLATES, OPENERS
from slotfill.training.travel.places import load_gazetteer, without_accents

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
WORDS = ("denver", "Boston", "o'clock", "what's", "Winston-Salem", "São", "flights", "Val-d'Or", "MORNING")


def _letters(word: str) -> int:
    return sum(char.isalpha() for char in word)


def _one_edit(before: str, after: str) -> bool:
    """Whether ``after`` is ``before`` with at most one typist's edit: two neighbours swapped, one letter
    dropped, one doubled, or one replaced."""
    if before == after:
        return True
    if len(after) == len(before):
        diff = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and before[diff[0]] == after[diff[1]]
        return len(diff) == 1 or (swapped and before[diff[1]] == after[diff[0]])
    short, long = sorted((before, after), key=len)
    if len(long) - len(short) != 1:
        return False
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _same_word(before: str, after: str) -> bool:
    """The same word, whatever the casing style applied, up to one typo. Casing goes through upper() and
    lower(), which change some letters for good ("ı" -> "I" -> "i"), so both sides are compared folded
    that way."""

    def norm(text: str) -> str:
        return without_accents(text.upper()).casefold()

    return _one_edit(norm(before), norm(after))


# typo()


@pytest.mark.parametrize("word", ["to", "on", "the", "NYC", "at", "", "a.m.", "3rd", "p.m", "o'c"])
def test_typo_leaves_short_words_alone(word: str) -> None:
    assert all(typo(word, random.Random(seed)) == word for seed in range(200))


@pytest.mark.parametrize("word", ["denver", "Boston", "MORNING", "flights"])
def test_typo_always_changes_a_long_word_of_distinct_letters(word: str) -> None:
    assert all(typo(word, random.Random(seed)) != word for seed in range(200))


@pytest.mark.parametrize("word", WORDS)
def test_typo_is_one_edit_of_letters_only(word: str) -> None:
    for seed in range(300):
        out = typo(word, random.Random(seed))
        assert _one_edit(word, out), (word, seed, out)
        # Apostrophes and hyphens stay, in order: the edit touched letters only.
        assert [c for c in out if not c.isalpha()] == [c for c in word if not c.isalpha()], (word, seed, out)
        assert " " not in out and abs(len(out) - len(word)) <= 1


@pytest.mark.parametrize("word", WORDS)
def test_typo_keeps_the_first_letter(word: str) -> None:
    for seed in range(300):
        out = typo(word, random.Random(seed))
        assert out[0] == word[0], (word, seed, out)


def test_typo_keeps_the_last_letter() -> None:
    assert typo("denver", random.Random(25))[-1] == "r"


def test_typo_keeps_the_last_letter_except_by_swapping_it_inwards() -> None:
    # What the known bug above allows, and no more: the only way the last letter changes is a swap with
    # the one before it.
    for word in WORDS:
        for seed in range(300):
            out = typo(word, random.Random(seed))
            if out[-1] != word[-1]:
                assert len(out) == len(word) and out[-2:] == word[-1] + word[-2], (word, seed, out)


def test_typo_makes_every_kind_of_edit() -> None:
    outs = {typo("denver", random.Random(seed)) for seed in range(500)}
    assert {"dnever", "denvr", "deenver"} <= outs  # swapped, dropped, doubled
    assert any(len(out) == 6 and sum(a != b for a, b in zip(out, "denver", strict=True)) == 1 for out in outs)


def test_typo_is_deterministic_for_a_seed() -> None:
    for word in WORDS:
        assert [typo(word, random.Random(s)) for s in range(50)] == [
            typo(word, random.Random(s)) for s in range(50)
        ]


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Cc")), max_size=12), SEEDS)
def test_typo_never_fails_and_edits_at_most_one_letter(word: str, seed: int) -> None:
    out = typo(word, random.Random(seed))
    assert _one_edit(word, out)
    if len(word) < 4 or _letters(word) < 4:
        assert out == word
    assert [c for c in out if not c.isalpha()] == [c for c in word if not c.isalpha()]


# is_question()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("what time does it leave", True),
        ("When does flight 12 land", True),
        ("IS there a train", True),
        ("could you help me", True),
        ("what's the fare", True),
        ("show me flights", False),
        ("hi, what can you do", False),
        ("whatever", False),
        ("", False),
    ],
)
def test_is_question_looks_at_the_first_word(words: str, expected: bool) -> None:
    assert is_question([Piece(word) for word in words.split()]) is expected


# perturb()


def _pieces_strategy() -> st.SearchStrategy[list[Piece]]:
    word = st.sampled_from(
        ["fly", "to", "from", "what", "when", "is", "show", "me", "flights", "please", ","]
    )
    slot = st.tuples(
        st.sampled_from(["San Diego, CA", "São Paulo", "Winston-Salem", "next Friday", "6 p.m.", "Val-d'Or"]),
        st.sampled_from(["departure", "dest", "time", "place"]),
    ).map(lambda pair: Piece(*pair))
    return st.lists(st.one_of(word.map(Piece), slot), min_size=1, max_size=10)


@cache
def _grammar() -> Grammar:
    return travel_grammar(load_gazetteer(), unseen=False)


def _grammar_pieces(seed: int) -> tuple[list[Piece], random.Random]:
    """One clean expansion of a random intent, and the rng left where generate() would use it next."""
    rng = random.Random(seed)
    grammar = _grammar()
    intent = rng.choice(sorted(INTENT_TEMPLATES))
    return grammar.expand(f"<intent_{intent}>", rng), rng


def _check_perturbed(pieces: Sequence[Piece], out: Sequence[Piece]) -> None:
    """``out`` is ``pieces`` with at most an unlabelled opener in front and an end mark behind, each
    piece the same word(s) up to casing and one typo per word, every label where it was."""
    # Where the original run sits is fixed by the end: a mark is only ever added after a letter or digit,
    # and a typo keeps a word ending in a letter. (Searching for the run would be ambiguous: "please" is
    # both an opener and a word.)
    marked = bool(pieces) and pieces[-1].text[-1:].isalnum() and out[-1].text in {"?", ".", "!"}
    head = len(out) - marked - len(pieces)
    assert head >= 0 and _same_run(pieces, out[head : head + len(pieces)]), (pieces, out)
    prefix, suffix = out[:head], out[head + len(pieces) :]
    assert all(p.label is None for p in (*prefix, *suffix)), out
    assert len(prefix) <= 2 and len(suffix) <= 1, out
    if prefix:
        assert prefix[0].text.lower() in OPENERS and [p.text for p in prefix[1:]] in ([], [","]), out
    if suffix:
        assert suffix[0].text in {"?", ".", "!"}, out
        assert pieces[-1].text[-1:].isalnum(), out
        question = is_question([*prefix, *out[head : head + len(pieces)]])
        # A question mark only after a question, a full stop or "!" only after a statement.
        assert (suffix[0].text == "?") is question, out


def _same_run(pieces: Sequence[Piece], run: Sequence[Piece]) -> bool:
    if len(run) != len(pieces):
        return False
    for before, after in zip(pieces, run, strict=True):
        if before.label != after.label:
            return False
        words, noisy = before.text.split(" "), after.text.split(" ")
        if len(words) != len(noisy) or not all(map(_same_word, words, noisy)):
            return False
    return True


@settings(max_examples=200, deadline=None)
@given(_pieces_strategy(), SEEDS)
def test_perturb_keeps_every_piece_and_label(pieces: list[Piece], seed: int) -> None:
    _check_perturbed(pieces, perturb(pieces, random.Random(seed)))


@settings(max_examples=200, deadline=None)
@given(SEEDS)
def test_perturb_keeps_every_piece_and_label_of_real_sentences(seed: int) -> None:
    pieces, rng = _grammar_pieces(seed)
    _check_perturbed(pieces, perturb(pieces, rng))


def test_perturb_does_not_change_its_input() -> None:
    pieces = [Piece("what"), Piece("flights"), Piece("go"), Piece("to"), Piece("Denver", "dest")]
    copy = list(pieces)
    for seed in range(200):
        perturb(pieces, random.Random(seed))
    assert pieces == copy


def test_perturb_is_deterministic_for_a_seed() -> None:
    pieces = [Piece("fly"), Piece("from"), Piece("Boston", "departure"), Piece("to"), Piece("Denver", "dest")]
    for seed in range(100):
        assert perturb(pieces, random.Random(seed)) == perturb(pieces, random.Random(seed))


def test_perturb_applies_every_kind_of_noise() -> None:
    pieces = [Piece("when"), Piece("does"), Piece("it"), Piece("leave"), Piece("Philadelphia", "departure")]
    outs = [perturb(pieces, random.Random(seed)) for seed in range(2000)]
    texts = [" ".join(p.text for p in out) for out in outs]
    assert any(t.endswith("?") for t in texts) and any(t[-1].isalpha() for t in texts)
    assert any(t == t.lower() for t in texts) and any(t == t.upper() for t in texts)
    assert any(t.startswith("When ") for t in texts)
    assert any(out[0].text.lower() in OPENERS and out[0].label is None for out in outs)
    typos = [out for out in outs if "philadelphia" not in " ".join(p.text.lower() for p in out)]
    assert typos and all(any(p.label == "departure" for p in out) for out in typos)


def test_perturb_adds_no_mark_after_punctuation() -> None:
    pieces = [Piece("thanks"), Piece("!")]
    for seed in range(300):
        out = perturb(pieces, random.Random(seed))
        assert out[-1].text == "!", out


def test_perturb_of_nothing_is_at_most_an_opener() -> None:
    for seed in range(20):
        assert all(piece.label is None for piece in perturb([], random.Random(seed)))
