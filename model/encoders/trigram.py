"""Word hashing by letter trigrams: "#taipei#" -> "#ta", "tai", "aip", "ipe", "pei", "ei#".

Words that share spelling share trigrams, so a city never seen in training still lands near
the cities that were. Trigrams are hashed (CRC-32, stable across processes and machines, unlike
Python's ``hash``) into a fixed number of buckets, which bounds the model's size.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Self

from slotfill.model.encoders.base import BagEncoder
from slotfill.model.tokenize import normalize

if TYPE_CHECKING:
    from slotfill.model.config import ModelOptions


def letter_trigrams(word: str) -> list[str]:
    """The letter trigrams of a word with ``#`` marking its boundaries.

    >>> letter_trigrams("Taipei")
    ['#ta', 'tai', 'aip', 'ipe', 'pei', 'ei#']
    >>> letter_trigrams("a")
    ['#a#']
    """
    marked = f"#{normalize(word)}#"
    return [marked[i : i + 3] for i in range(len(marked) - 2)]


@lru_cache(maxsize=65_536)
def trigram_ids(word: str, buckets: int) -> tuple[int, ...]:
    """Bucket ids of a word's trigrams (cached: the same words recur in every request).

    >>> trigram_ids("taipei", 20_000) == trigram_ids("TAIPEI", 20_000)
    True
    """
    return tuple(zlib.crc32(gram.encode("utf-8")) % buckets for gram in letter_trigrams(word))


class TrigramEncoder(BagEncoder):
    """The ``trigram`` encoder: nothing to fit or save, its buckets are a setting."""

    name = "trigram"
    summary = "letter-trigram word hashing"

    def __init__(self, buckets: int) -> None:
        self.buckets = buckets

    @classmethod
    def load(cls, options: ModelOptions, files: Mapping[str, bytes]) -> Self:
        return cls(options.trigram_buckets)

    def __len__(self) -> int:
        return self.buckets

    def encode(self, token: str) -> tuple[int, ...]:
        return trigram_ids(token, self.buckets)

    @classmethod
    def dim(cls, options: ModelOptions) -> int:
        return options.trigram_dim
