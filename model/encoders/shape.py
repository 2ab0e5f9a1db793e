"""Word shape: a token's pattern of capitals, small letters, digits and punctuation, as typed.

Why: the other encoders read the case-folded word (``normalize``), so "Boston" and "boston", or
"OR" (Oregon) and "or", look alike to them. The shape gives the tagger the case and the digit
patterns back, for words never seen in training too.

A shape is a sequence of parts, each a run of one kind of character: "X" one capital, "XX" two
or more capitals, "x" small letters (and letters that have no case), "d" digits, the punctuation
in ``KEPT`` as itself, "*" any other character; a combining accent belongs to its letter. So
"Taipei" is "Xx", "NYC" and "OR" are "XX", "I" is "X", "6:30" is "d:d" and "5th" is "dx".

Every shape of up to ``MAX_PARTS`` parts has its own id in a fixed table, enumerated in the order
of ``PARTS``; longer shapes share one id. Nothing is fitted or saved, and a token gets the same
id on every machine (Python's Unicode tables decide what a capital is, as they do for
``normalize``). The table is about 7,700 rows; the few dozen shapes real text has are learnt, and
the rows of shapes training never saw stay at zero, adding nothing rather than noise.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Self

from slotfill.model.encoders.base import IdEncoder

if TYPE_CHECKING:
    from torch import nn

    from slotfill.model.config import ModelOptions

CAPITAL, CAPITALS, SMALL, DIGIT, OTHER_CHAR = "X", "XX", "x", "d", "*"
KEPT = ".:-'/"  # punctuation inside words worth telling apart: 6:30, a.m., o'clock, 12/25, e-mail
PARTS = (CAPITAL, CAPITALS, SMALL, DIGIT, *KEPT, OTHER_CHAR)  # their order fixes the ids: never change it
MAX_PARTS = 4
LONG = 1  # the id of every shape of more parts (and of a token with no characters)


def _kind(char: str) -> str | None:
    """The part a character belongs to; None for a combining mark, which joins its letter."""
    category = unicodedata.category(char)
    if category in ("Lu", "Lt"):
        return CAPITAL
    if category[0] == "L":
        return SMALL
    if category[0] == "N":
        return DIGIT
    if category[0] == "M":
        return None
    return char if char in KEPT else OTHER_CHAR


def shape_parts(token: str) -> tuple[str, ...]:
    """The parts of a token's shape: runs of one kind collapsed, capitals into "X" or "XX"."""
    parts: list[str] = []
    for char in token:
        kind = _kind(char)
        last = parts[-1] if parts else None
        if kind == CAPITAL and last == CAPITAL:
            parts[-1] = CAPITALS
        elif kind is not None and kind != last and not (kind == CAPITAL and last == CAPITALS):
            parts.append(kind)
    return tuple(parts)


def word_shape(token: str) -> str:
    """A token's shape, written out.

    >>> [word_shape(t) for t in ["Taipei", "taipei", "NYC", "OR", "I", "LaGuardia", "USAir"]]
    ['Xx', 'x', 'XX', 'XX', 'X', 'XxXx', 'XXx']
    >>> [word_shape(t) for t in ["6:30", "1291", "5th", "a.m.", "o'clock", "12/25", "?", "東京"]]
    ['d:d', 'd', 'dx', 'x.x.', "x'x", 'd/d', '*', 'x']
    >>> word_shape("ＴＡＩＰＥＩ"), word_shape("Sa\u0303o")  # full-width capitals; an accent joins its letter
    ('XX', 'Xx')
    """
    return "".join(shape_parts(token))


def _is_shape(parts: tuple[str, ...]) -> bool:
    """Whether ``parts`` can be a token's shape: no part is followed by the same kind."""
    capitals = (CAPITAL, CAPITALS)
    return all(a != b and not (a in capitals and b in capitals) for a, b in itertools.pairwise(parts))


@cache
def _table() -> dict[tuple[str, ...], int]:
    """Every shape of up to MAX_PARTS parts -> its id, from 2 (0 is padding, 1 ``LONG``)."""
    shapes = (
        parts
        for length in range(1, MAX_PARTS + 1)
        for parts in itertools.product(PARTS, repeat=length)
        if _is_shape(parts)
    )
    return {parts: index for index, parts in enumerate(shapes, start=LONG + 1)}


@lru_cache(maxsize=65_536)
def shape_id(token: str) -> int:
    """The id of a token's shape (cached: the same words recur in every request).

    >>> shape_id("Taipei") == shape_id("Boston") != shape_id("boston")
    True
    >>> shape_id("U.S.A.") == shape_id("Flight-1291-B") == LONG  # more than MAX_PARTS parts
    True
    """
    return _table().get(shape_parts(token), LONG)


def shape_count() -> int:
    """How many ids shapes have, padding and ``LONG`` included."""
    return len(_table()) + LONG + 1


class ShapeEncoder(IdEncoder):
    """The ``shape`` encoder: a fixed table, so nothing to fit or save beyond ``shape_dim``."""

    name = "shape"
    summary = "the word's pattern of capitals, small letters, digits and punctuation: Xx, XX, d:d"

    @classmethod
    def load(cls, options: ModelOptions, files: Mapping[str, bytes]) -> Self:
        return cls()

    def __len__(self) -> int:
        return shape_count()

    def encode(self, token: str) -> int:
        return shape_id(token)

    @classmethod
    def dim(cls, options: ModelOptions) -> int:
        return options.shape_dim

    @classmethod
    def table(cls, options: ModelOptions, size: int) -> nn.Module:
        """A table of zeros: a shape training never saw then adds nothing to its token's vector."""
        from torch import nn

        from slotfill.model.encoders.tables import id_table

        table = id_table(size, cls.dim(options))
        nn.init.zeros_(table.weight)
        return table
