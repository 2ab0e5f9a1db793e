"""1-of-N word encoding with an explicit "other" id, as in the lecture's slot-filling RNN.

Words seen fewer than ``min_freq`` times in training share the "other" id with words never seen,
so the model has learned what to do with them by the time a new city name arrives.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from slotfill.model.tokenize import normalize

PAD = 0
OTHER = 1
_DIGIT = re.compile(r"\d")


def word_key(word: str) -> str:
    """The vocabulary key of a word: normalised, every digit folded to 0.

    Flight numbers and times then share entries ("1291" and "8384" differ only in shape).

    >>> word_key("Flight-1291")
    'flight-0000'
    """
    return _DIGIT.sub("0", normalize(word))


class Vocabulary:
    """Maps words to ids; 0 is padding, 1 is "other"."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words: list[str] = list(words)
        # Padding and "other" are ids, not entries: a user word spelt "<pad>" is just a word.
        self._index = {word: index for index, word in enumerate(self.words, start=OTHER + 1)}
        if len(self._index) != len(self.words):
            raise ValueError("vocabulary words must be unique")

    @classmethod
    def build(cls, sentences: Iterable[Iterable[str]], min_freq: int = 1) -> Vocabulary:
        """Vocabulary of the training words seen at least ``min_freq`` times, most frequent first."""
        counts = Counter(word_key(word) for sentence in sentences for word in sentence)
        kept = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        return cls(kept)

    def __len__(self) -> int:
        return len(self.words) + OTHER + 1

    def encode(self, words: Iterable[str]) -> list[int]:
        """Ids of ``words``, "other" for anything not in the vocabulary.

        >>> Vocabulary(["taipei"]).encode(["Taipei", "Tainan"])
        [2, 1]
        """
        return [self._index.get(word_key(word), OTHER) for word in words]

    def to_json(self) -> list[str]:
        return list(self.words)
