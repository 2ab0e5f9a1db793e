"""Tokens keep exact offsets into the original text, whatever Unicode it holds."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slotfill.model.tokenize import Token, _keeps_period, normalize, tokenize


def texts(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", []),
        (" \t\n\u00a0\u2003\u3000 ", []),
        ("arrive taipei on november 2nd", ["arrive", "taipei", "on", "november", "2nd"]),
        ("2nd?", ["2nd", "?"]),
        ("at 6:30, don't", ["at", "6:30", ",", "don't"]),
        ("a.m. (boston)", ["a.m.", "(", "boston", ")"]),
        ("this month.American", ["this", "month", ".", "American"]),
        ("Atlanta.I need", ["Atlanta", ".", "I", "need"]),
        ("Fresno,CA please", ["Fresno", ",", "CA", "please"]),
        ("in the U.S. at 4.5 p.m.", ["in", "the", "U.S.", "at", "4.5", "p.m."]),
        ("St. Louis, don't", ["St.", "Louis", ",", "don't"]),
        ("...", [".", ".", "."]),
        ("$300!", ["$", "300", "!"]),  # currency signs are symbols
        ("«Paris»", ["«", "Paris", "»"]),
        ("new\u00a0york", ["new", "york"]),  # no-break space separates
        ("new\u200byork", ["new\u200byork"]),  # zero-width space does not (it is not whitespace)
        ("e\u0301t\u00e9", ["e\u0301t\u00e9"]),  # combining marks stay with their letter
        ("東京へ行く", ["東京へ行く"]),  # no segmentation of unspaced scripts
        ("👍 ok", ["👍", "ok"]),  # emoji are symbols: a token of their own
    ],
)
def test_tokenize_cases(text: str, tokens: list[str]) -> None:
    assert texts(text) == tokens


def test_offsets_of_a_sentence() -> None:
    assert tokenize("  São Paulo, 6:30?") == [
        Token("São", 2, 5),
        Token("Paulo", 6, 11),
        Token(",", 11, 12),
        Token("6:30", 13, 17),
        Token("?", 17, 18),
    ]


@settings(max_examples=200, deadline=None)
@given(st.text())
@example("Leave Taipei on Nov. 2nd, please!")
@example("\u0301\u0301 ,,a,, \U0001f469\u200d\U0001f469")
@example("SR.")  # an abbreviation keeps its period: once found by Hypothesis, which failed the test
def test_offsets_round_trip(text: str) -> None:
    tokens = tokenize(text)
    end = 0
    for token in tokens:
        assert text[token.start : token.end] == token.text != ""
        assert token.start >= end  # in order, never overlapping
        assert text[end : token.start].strip() == "" or token.start == end  # only whitespace skipped
        end = token.end
    assert text[end:].strip() == ""
    # Nothing but whitespace is lost, nothing is normalised.
    assert "".join(t.text for t in tokens) == "".join(text.split())
    for token in tokens:
        if len(token.text) > 1:  # punctuation is peeled off both ends of a longer chunk
            assert unicodedata.category(token.text[0])[0] not in "PS"
            # ... except the period of an abbreviation the tokenizer keeps whole ("St.", "a.m.").
            if not (token.text.endswith(".") and _keeps_period(token.text[:-1])):
                assert unicodedata.category(token.text[-1])[0] not in "PS"


def test_normalize() -> None:
    assert normalize("ＴＡＩＰＥＩ") == "taipei"
    assert normalize("Straße") == "strasse"
    assert normalize("e\u0301") == "\u00e9"  # NFKC composes
    assert normalize("ﬁ") == "fi"
