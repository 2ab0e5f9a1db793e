"""Split raw text into tokens that keep their character offsets.

Training data in the JointBERT and CoNLL formats is already tokenised on whitespace; raw text
(the API, JSONL annotations) goes through :func:`tokenize` so that both meet the model in the same
shape. Offsets are Python string indices into the *original* text, so ``text[start:end]`` is always
the token, whatever Unicode the text holds: nothing is normalised before splitting.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A chunk is a maximal run of non-space characters; leading and trailing punctuation is split off it
# so "2nd?" gives "2nd" + "?", while inner punctuation ("6:30", "don't", "4.5") stays in the word.
_CHUNK = re.compile(r"\S+")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Sentence punctuation typed without the space after it: "month.American", "Atlanta.I",
# "Seattle,WA". A word of two letters or more must come before it, so "U.S", "a.m" and "4.5" stay.
_GLUED = re.compile(r"(?<=[^\W\d_]{2})[.,;!?]+(?=[^\W\d_])")
# Abbreviations that keep their final period: letters and periods ("a.m.", "U.S.", "D.C.") and a
# few words that are hardly ever a sentence's last ("St. Louis", "Mt. Hood").
_DOTTED = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
_ABBREVIATIONS = frozenset(("st", "mt", "ft", "dr", "mr", "mrs", "ms", "jr", "sr", "vs", "approx"))


@dataclass(frozen=True, slots=True)
class Token:
    """One token of a text with its half-open character span ``[start, end)``."""

    text: str
    start: int
    end: int


def _is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _keeps_period(word: str) -> bool:
    """Whether ``word`` + "." is an abbreviation whose period belongs to it ("a.m.", "St.")."""
    return bool(_DOTTED.fullmatch(word)) or word.casefold() in _ABBREVIATIONS


def _split_chunk(chunk: str, offset: int) -> list[Token]:
    if chunk.isalnum():  # most words: letters and digits alone have nothing to split off
        return [Token(chunk, offset, offset + len(chunk))]
    left = 0
    right = len(chunk)
    head: list[Token] = []
    tail: list[Token] = []
    while left < right and _is_punct(chunk[left]):
        head.append(Token(chunk[left], offset + left, offset + left + 1))
        left += 1
    while right > left and _is_punct(chunk[right - 1]):
        tail.append(Token(chunk[right - 1], offset + right - 1, offset + right))
        right -= 1
    if tail and tail[-1].text == "." and _keeps_period(chunk[left:right]):
        tail.pop()
        right += 1
    return head + _split_glued(chunk[left:right], offset + left) + tail[::-1]


def _split_glued(word: str, offset: int) -> list[Token]:
    """``word`` as tokens, split where sentence punctuation was typed without a space after it."""
    tokens: list[Token] = []
    at = 0
    for match in _GLUED.finditer(word):
        tokens.append(Token(word[at : match.start()], offset + at, offset + match.start()))
        tokens.extend(
            Token(char, offset + i, offset + i + 1) for i, char in enumerate(match.group(), match.start())
        )
        at = match.end()
    if at < len(word):
        tokens.append(Token(word[at:], offset + at, offset + len(word)))
    return tokens


def tokenize(text: str) -> list[Token]:
    """Split ``text`` on whitespace, then peel punctuation off both ends of each chunk.

    >>> [t.text for t in tokenize("Leave Taipei on Nov. 2nd, please!")]
    ['Leave', 'Taipei', 'on', 'Nov', '.', '2nd', ',', 'please', '!']

    A sentence's period typed without the space after it still ends the word before it:

    >>> [t.text for t in tokenize("this month.American Airlines is fine")]
    ['this', 'month', '.', 'American', 'Airlines', 'is', 'fine']
    >>> [t.text for t in tokenize("to Atlanta.I have 2 bags")]
    ['to', 'Atlanta', '.', 'I', 'have', '2', 'bags']
    >>> [t.text for t in tokenize("from Seattle,WA")]
    ['from', 'Seattle', ',', 'WA']

    while abbreviations, clock times, decimals and contractions stay whole:

    >>> [t.text for t in tokenize("at 6:30 a.m. or 5 p.m., in the U.S.")]
    ['at', '6:30', 'a.m.', 'or', '5', 'p.m.', ',', 'in', 'the', 'U.S.']
    >>> [t.text for t in tokenize("St. Louis, 4.5 hours, don't")]
    ['St.', 'Louis', ',', '4.5', 'hours', ',', "don't"]
    >>> tok = tokenize("  São Paulo at 6:30?")[1]
    >>> tok, "  São Paulo at 6:30?"[tok.start:tok.end]
    (Token(text='Paulo', start=6, end=11), 'Paulo')
    """
    tokens: list[Token] = []
    for match in _CHUNK.finditer(text):
        tokens.extend(_split_chunk(match.group(), match.start()))
    return tokens


def lone_surrogate(text: str) -> int | None:
    r"""Where ``text`` holds a lone surrogate (JSON can carry one, "\udce9"; it is not Unicode and
    cannot be encoded), or None. One rule for the API and the training data alike.

    >>> lone_surrogate("caf\udce9"), lone_surrogate("café")
    (3, None)
    """
    found = _SURROGATE.search(text)
    return None if found is None else found.start()


def normalize(word: str) -> str:
    """The form the encoders see: NFKC-folded and case-folded, so "ＴＡＩＰＥＩ" == "taipei".

    >>> normalize("São")
    'são'
    """
    text = unicodedata.normalize("NFKC", word).casefold()
    # Lone surrogates (from undecodable bytes) cannot be encoded; the encoders see U+FFFD instead.
    return _SURROGATE.sub("\ufffd", text)
