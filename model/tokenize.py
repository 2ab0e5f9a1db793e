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
# so "2nd?" gives "2nd" + "?", while inner punctuation ("6:30", "don't", "a.m") stays in the word.
_CHUNK = re.compile(r"\S+")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Token:
    """One token of a text with its half-open character span ``[start, end)``."""

    text: str
    start: int
    end: int


def _is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _split_chunk(chunk: str, offset: int) -> list[Token]:
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
    middle = [Token(chunk[left:right], offset + left, offset + right)] if left < right else []
    return head + middle + tail[::-1]


def tokenize(text: str) -> list[Token]:
    """Split ``text`` on whitespace, then peel punctuation off both ends of each chunk.

    >>> [t.text for t in tokenize("Leave Taipei on Nov. 2nd, please!")]
    ['Leave', 'Taipei', 'on', 'Nov', '.', '2nd', ',', 'please', '!']
    >>> tok = tokenize("  São Paulo at 6:30?")[1]
    >>> tok, "  São Paulo at 6:30?"[tok.start:tok.end]
    (Token(text='Paulo', start=6, end=11), 'Paulo')
    """
    tokens: list[Token] = []
    for match in _CHUNK.finditer(text):
        tokens.extend(_split_chunk(match.group(), match.start()))
    return tokens


def normalize(word: str) -> str:
    """The form the encoders see: NFKC-folded and case-folded, so "ＴＡＩＰＥＩ" == "taipei".

    >>> normalize("São")
    'são'
    """
    text = unicodedata.normalize("NFKC", word).casefold()
    # Lone surrogates (from undecodable bytes) cannot be encoded; the encoders see U+FFFD instead.
    return _SURROGATE.sub("\ufffd", text)
