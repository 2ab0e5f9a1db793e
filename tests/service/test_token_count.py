"""The admission's token count: never below the tokenizer's, and the same on every path."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from slotfill.model.tokenize import tokenize
from slotfill.service.token_count import count_tokens

REFERENCE = re.compile(r"[^\W_]+|\S")  # letter and digit runs, and every other non-space char


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_ascii_text_counts_as_the_reference_pattern(text: str) -> None:
    assert count_tokens(text) == len(REFERENCE.findall(text))


@given(st.text(max_size=200))
def test_any_text_counts_at_least_the_tokens_of_the_tokenizer(text: str) -> None:
    assert count_tokens(text) == len(REFERENCE.findall(text))
    assert count_tokens(text) >= len(tokenize(text))


def test_costly_and_ordinary_texts() -> None:
    assert count_tokens("!" * 1000) == 1000
    assert count_tokens("word " * 1000) == 1000
    assert count_tokens("") == 0
    assert count_tokens(" \t\r\n\x0b\x0c\x1c\x1f ") == 0  # every ASCII space \s knows
    assert count_tokens("2 seats to LA, returning March 4th") == 8
