"""BIO tag sequences to spans and back: pure functions shared by decoding and scoring.

Ill-formed input follows the CoNLL ``conlleval`` policy, so the spans the API returns are the very
chunks the evaluation counts: an ``I-X`` that follows ``O`` or a tag of another type starts a new
span of type ``X``, and a ``B-`` always starts one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OUTSIDE = "O"


@dataclass(frozen=True, slots=True)
class Span:
    """A labelled run of tokens ``[start, end)`` (token indices, end exclusive)."""

    label: str
    start: int
    end: int


def split_tag(tag: str) -> tuple[str, str]:
    """Split a tag into its prefix and its type.

    >>> split_tag("B-toloc.city_name")
    ('B', 'toloc.city_name')
    >>> split_tag("O")
    ('O', '')
    """
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in ("B", "I") or not label:
        raise ValueError(f"not a BIO tag: {tag!r} (expected 'O', 'B-<slot>' or 'I-<slot>')")
    return prefix, label


def _starts(prev: tuple[str, str], cur: tuple[str, str]) -> bool:
    if cur[0] == "B":
        return True
    return cur[0] == "I" and (prev[0] == OUTSIDE or prev[1] != cur[1])


def tags_to_spans(tags: Sequence[str]) -> list[Span]:
    """Chunks of a BIO sequence, exactly as ``conlleval`` delimits them.

    >>> tags_to_spans(["B-dest", "I-dest", "O", "B-time", "I-time"])
    [Span(label='dest', start=0, end=2), Span(label='time', start=3, end=5)]

    Ill-formed sequences: a stray ``I-`` opens a span, a change of type closes one.

    >>> tags_to_spans(["I-dest", "I-time", "B-time", "O", "I-dest"])
    [Span(label='dest', start=0, end=1), Span(label='time', start=1, end=2), \
Span(label='time', start=2, end=3), Span(label='dest', start=4, end=5)]
    """
    spans: list[Span] = []
    prev = (OUTSIDE, "")
    begin = -1
    for index, tag in enumerate(tags):
        cur = split_tag(tag)
        starts = _starts(prev, cur)
        if begin >= 0 and (starts or cur[0] == OUTSIDE):
            spans.append(Span(prev[1], begin, index))
            begin = -1
        if starts:
            begin = index
        prev = cur
    if begin >= 0:
        spans.append(Span(prev[1], begin, len(tags)))
    return spans


def spans_to_tags(spans: Sequence[Span], length: int) -> list[str]:
    """The BIO tags of ``length`` tokens holding ``spans`` (which must not overlap).

    >>> spans_to_tags([Span("dest", 1, 3)], 4)
    ['O', 'B-dest', 'I-dest', 'O']
    """
    tags = [OUTSIDE] * length
    for span in spans:
        if not 0 <= span.start < span.end <= length:
            raise ValueError(f"span {span} does not fit in {length} tokens")
        if any(tag != OUTSIDE for tag in tags[span.start : span.end]):
            raise ValueError(f"span {span} overlaps another span")
        tags[span.start] = f"B-{span.label}"
        for index in range(span.start + 1, span.end):
            tags[index] = f"I-{span.label}"
    return tags


def is_well_formed(tags: Sequence[str]) -> bool:
    """True when every ``I-X`` continues a ``B-X`` or ``I-X``.

    >>> is_well_formed(["B-a", "I-a", "O"]), is_well_formed(["O", "I-a"])
    (True, False)
    """
    prev = (OUTSIDE, "")
    for tag in tags:
        cur = split_tag(tag)
        if cur[0] == "I" and (prev[0] == OUTSIDE or prev[1] != cur[1]):
            return False
        prev = cur
    return True


def slot_confidence(confidences: Sequence[float], span: Span) -> float:
    """A slot's confidence: that of its least sure token (what the API reports).

    >>> slot_confidence([0.9, 0.7, 0.8], Span("time", 1, 3))
    0.7
    """
    return min(confidences[span.start : span.end])


def trim_punctuation(tags: Sequence[str], tokens: Sequence[str]) -> list[str]:
    """``tags`` with every span's leading and trailing punctuation tokens made ``O``.

    A slot's value never starts or ends with a comma, a dash or a full stop ("SFO," is "SFO"),
    whatever the network made of the token beside it; punctuation inside stays ("Portland, OR").
    The same holds for any token without a letter or digit (a symbol, an emoji, a stray
    byte-order mark), so a span of nothing else is no slot at all.

    >>> trim_punctuation(["B-dest", "I-dest", "O"], ["SFO", ",", "on"])
    ['B-dest', 'O', 'O']
    >>> trim_punctuation(["B-dest", "I-dest", "I-dest"], ["-", "Portland", ","])
    ['O', 'B-dest', 'O']
    >>> trim_punctuation(["B-dest", "I-dest", "I-dest"], ["Portland", ",", "OR"])
    ['B-dest', 'I-dest', 'I-dest']
    >>> trim_punctuation(["B-time", "O", "B-time"], ["\ufeff", "at", "🛫"])
    ['O', 'O', 'O']
    """
    out = list(tags)
    for span in tags_to_spans(tags):
        start, end = span.start, span.end
        while start < end and _punctuation(tokens[start]):
            out[start] = OUTSIDE
            start += 1
        while end > start and _punctuation(tokens[end - 1]):
            out[end - 1] = OUTSIDE
            end -= 1
        if start < end:
            out[start] = f"B-{span.label}"
    return out


def _punctuation(token: str) -> bool:
    """A token with no letter or digit: punctuation, symbols, emoji, or invisible format
    characters such as a lone byte-order mark, none of which can be a slot's first or last word."""
    return not any(char.isalnum() for char in token)
