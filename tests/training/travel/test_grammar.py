"""The template language: what each construct expands to, how the pieces come out (labels, spacing),
that every malformed template is refused with a message naming it, and that a seed fixes the draw."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import pytest

from slotfill.training.travel.grammar import Grammar, Piece, SlotFiller, TemplateError, parse_template


def _fixed(lead: str, text: str) -> SlotFiller:
    """A slot filler that always gives the same lead and text, so expansions can be compared exactly."""

    def fill(rng: random.Random) -> tuple[str, str]:
        return lead, text

    return fill


SLOTS: dict[str, SlotFiller] = {
    "dest": _fixed("", "Taipei"),
    "departure": _fixed("", "São Paulo"),
    "time": _fixed("on", "next Friday"),
    "bare": _fixed("", "6 pm"),
}


def _grammar(rules: Mapping[str, Sequence[str]] | None = None) -> Grammar:
    return Grammar(rules or {}, SLOTS)


def _texts(pieces: Sequence[Piece]) -> list[str]:
    return [piece.text for piece in pieces]


def _sentence(template: str, seed: int, rules: Mapping[str, Sequence[str]] | None = None) -> str:
    return " ".join(_texts(_grammar(rules).expand(template, random.Random(seed))))


def _outcomes(template: str, rules: Mapping[str, Sequence[str]] | None = None, draws: int = 400) -> set[str]:
    """Every sentence ``template`` gave over ``draws`` seeds: enough that a 1-in-8 branch is missed
    with probability (7/8)^400, i.e. never."""
    return {_sentence(template, seed, rules) for seed in range(draws)}


# Expansion of each construct.


def test_plain_text_is_split_into_unlabelled_words() -> None:
    pieces = _grammar().expand("show me flights", random.Random(0))
    assert pieces == [Piece("show"), Piece("me"), Piece("flights")]


def test_a_choice_gives_each_alternative() -> None:
    assert _outcomes("(a|b|c)") == {"a", "b", "c"}


def test_an_optional_gives_its_body_or_nothing() -> None:
    assert _outcomes("fly [now]") == {"fly", "fly now"}


def test_an_optional_glued_to_a_word_stays_in_the_word() -> None:
    # "flight[s]" is one word either way: plain text is merged before it is split into words.
    assert _outcomes("flight[s] fl(y|ies)") == {"flight fly", "flights fly", "flight flies", "flights flies"}


def test_a_rule_expands_to_one_of_its_templates_recursively() -> None:
    rules = {"go": ["(fly|go)", "<take> the train"], "take": ["take", "catch"]}
    assert _outcomes("<go>", rules) == {"fly", "go", "take the train", "catch the train"}


def test_nested_groups_expand_to_exactly_the_sentences_they_describe() -> None:
    template = "(a [b (c|d)]|e[ f])"
    assert _outcomes(template) == {"a", "a b c", "a b d", "e", "e f"}


def test_an_empty_alternative_is_allowed_and_gives_nothing() -> None:
    assert _outcomes("go (now|)") == {"go", "go now"}


def test_every_branch_is_reached_roughly_as_often_as_the_others() -> None:
    # "(a|b|c)" picks equally; "[x]" half the time. 3000 draws: a fair branch lands within +-5 points.
    grammar = _grammar()
    rng = random.Random(0)
    draws = [" ".join(_texts(grammar.expand("(a|b|c)[ x]", rng))) for _ in range(3000)]
    for word in ("a", "b", "c"):
        share = sum(d.startswith(word) for d in draws) / len(draws)
        assert abs(share - 1 / 3) < 0.05, (word, share)
    share_x = sum(d.endswith(" x") for d in draws) / len(draws)
    assert abs(share_x - 0.5) < 0.05, share_x


# Slots and pieces.


def test_a_slot_is_one_piece_with_its_label_and_whole_text() -> None:
    pieces = _grammar().expand("from {departure} to {dest}", random.Random(0))
    assert pieces == [Piece("from"), Piece("São Paulo", "departure"), Piece("to"), Piece("Taipei", "dest")]


def test_the_lead_comes_before_the_slot_and_is_not_part_of_it() -> None:
    pieces = _grammar().expand("leave {time}", random.Random(0))
    assert pieces == [Piece("leave"), Piece("on"), Piece("next Friday", "time")]


def test_an_empty_lead_adds_no_piece() -> None:
    assert _grammar().expand("at{bare}", random.Random(0)) == [Piece("at"), Piece("6 pm", "bare")]


def test_slots_are_separated_from_glued_text() -> None:
    # The filler's piece is padded with spaces, so "to{dest}please" cannot fuse "to" or "please" into it.
    pieces = _grammar().expand("to{dest}please", random.Random(0))
    assert pieces == [Piece("to"), Piece("Taipei", "dest"), Piece("please")]


def test_whitespace_is_normalised_to_single_words() -> None:
    pieces = _grammar().expand("  fly\t to   {dest}  [ ] ( | )  ", random.Random(0))
    assert pieces == [Piece("fly"), Piece("to"), Piece("Taipei", "dest")]
    for piece in pieces:
        assert piece.text == piece.text.strip() and "  " not in piece.text
        assert piece.label is not None or " " not in piece.text


def test_slot_text_keeps_its_inner_spaces_and_punctuation() -> None:
    grammar = Grammar({}, {"dest": _fixed("", "San Diego, CA")})
    assert grammar.expand("to {dest}.", random.Random(0)) == [
        Piece("to"),
        Piece("San Diego, CA", "dest"),
        Piece("."),
    ]


def test_the_filler_gets_the_expansion_rng() -> None:
    # Fillers draw from the same stream as the template, so one seed fixes the whole sentence.
    grammar = Grammar({}, {"n": lambda rng: ("", str(rng.randrange(10**9)))})
    first = grammar.expand("{n} {n}", random.Random(3))
    assert first == grammar.expand("{n} {n}", random.Random(3))
    assert first[0] != first[1]


# Determinism.


def test_the_same_seed_gives_the_same_expansion() -> None:
    rules = {"go": ["(fly|go|travel)[ there]", "take (a|the) (train|bus)"]}
    grammar = _grammar(rules)
    template = "[hi ]<go> (to {dest}|from {departure})[ {time}]"
    for seed in range(50):
        assert grammar.expand(template, random.Random(seed)) == grammar.expand(template, random.Random(seed))
    assert len({_sentence(template, seed, rules) for seed in range(50)}) > 10


def test_parsing_is_cached() -> None:
    assert parse_template("(a|b) [c]") is parse_template("(a|b) [c]")


def test_only_the_rng_passed_in_is_used() -> None:
    random.seed(0)
    state = random.getstate()
    _grammar().expand("(a|b) [c] {dest}", random.Random(5))
    assert random.getstate() == state


# Errors: every malformed template is refused, naming the template.


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("(a|b", r"'\(' is never closed"),
        ("fly (to", r"'\(' is never closed"),
        ("[a", r"'\[' is never closed"),
        ("[a|b]", r"'\|' inside '\[\.\.\.\]': write alternatives as '\[\(a\|b\)\]'"),
        ("<go", r"'<' is never closed"),
        ("to {dest", r"'\{' is never closed"),
        ("<go now>", r"bad name 'go now'"),
        ("<>", r"bad name ''"),
        ("{1st}", r"bad name '1st'"),
        ("{de-st}", r"bad name 'de-st'"),
        ("a)b", r"unexpected '\)'"),
        ("a]b", r"unexpected '\]'"),
        ("(a|b))", r"unexpected '\)'"),
        ("a|b", r"unexpected '\|'"),
    ],
)
def test_a_malformed_template_is_refused_with_its_text_and_column(template: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason) as error:
        parse_template(template)
    assert repr(template) in str(error.value)
    assert "column " in str(error.value)


def test_a_malformed_rule_is_refused_when_the_grammar_is_built() -> None:
    with pytest.raises(TemplateError, match=r"'\(fly\|go'"):
        Grammar({"go": ["fly", "(fly|go"]}, {})


def test_an_unknown_rule_is_refused_when_the_grammar_is_built() -> None:
    with pytest.raises(TemplateError, match=r"template '\[<go> now\]' uses unknown rule <go>"):
        Grammar({"start": ["[<go> now]"], "other": ["x"]}, {})


def test_an_unknown_rule_deep_inside_groups_is_found() -> None:
    with pytest.raises(TemplateError, match="unknown rule <deep>"):
        Grammar({"start": ["(a|[b (c|<deep>)])"]}, {})


def test_an_unknown_slot_is_refused_when_the_grammar_is_built() -> None:
    with pytest.raises(TemplateError, match=r"template 'to \{place\}' uses unknown slot \{place\}"):
        Grammar({"to": ["to {place}"]}, {"dest": _fixed("", "Taipei")})


def test_a_rule_without_templates_is_refused_naming_the_rule() -> None:
    with pytest.raises(TemplateError, match="rule <empty> has no templates"):
        Grammar({"full": ["x"], "empty": []}, {})


def test_check_template_refuses_unknown_names_in_a_template_given_later() -> None:
    grammar = _grammar({"go": ["fly"]})
    grammar.check_template("<go> to {dest}")
    with pytest.raises(TemplateError, match=r"'<go> <went>' uses unknown rule <went>"):
        grammar.check_template("<go> <went>")
    with pytest.raises(TemplateError, match=r"'<go> \{origin\}' uses unknown slot \{origin\}"):
        grammar.check_template("<go> {origin}")


@pytest.mark.parametrize("template", ["<went>", "{origin}"])
def test_expanding_a_template_with_an_unknown_name_raises_template_error(template: str) -> None:
    with pytest.raises(TemplateError, match=repr(template)):
        _grammar({"go": ["fly"]}).expand(template, random.Random(0))


def test_template_error_is_a_value_error() -> None:
    # Callers that catch ValueError for bad configuration catch this too.
    assert issubclass(TemplateError, ValueError)
