"""1-of-N word encoding with an explicit "other" id, as in the lecture's slot-filling RNN.

Words seen fewer than ``min_freq`` times in training share the "other" id with words never seen,
so the model has learned what to do with them by the time a new city name arrives.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Self

from slotfill.model.encoders.base import PAD, EncoderStateError, IdEncoder
from slotfill.model.tokenize import normalize

if TYPE_CHECKING:
    from torch import nn

    from slotfill.model.config import ModelOptions

OTHER = PAD + 1  # the id of every word not in the vocabulary; words take the ids after it
VOCAB_FILE = "vocab.json"
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
        return [self.word_id(word) for word in words]

    def word_id(self, word: str) -> int:
        """The id of one word, "other" when it is not in the vocabulary."""
        return self._index.get(word_key(word), OTHER)

    def to_json(self) -> list[str]:
        return list(self.words)


class WordEncoder(IdEncoder):
    """The ``word`` encoder: a vocabulary of the training words, kept in ``vocab.json``."""

    name = "word"
    summary = '1-of-N with an "other" id'
    files = (VOCAB_FILE,)
    size_key = "vocab_size"

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab

    @classmethod
    def fit(cls, options: ModelOptions, sentences: Sequence[Sequence[str]]) -> Self:
        return cls(Vocabulary.build(sentences, options.word_min_freq))

    @classmethod
    def load(cls, options: ModelOptions, files: Mapping[str, bytes]) -> Self:
        try:
            words = json.loads(files[VOCAB_FILE].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise EncoderStateError(VOCAB_FILE, f"not valid JSON ({error})") from None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise EncoderStateError(VOCAB_FILE, "must be a JSON list of words")
        try:
            return cls(Vocabulary(words))
        except ValueError as error:
            raise EncoderStateError(VOCAB_FILE, str(error)) from None

    def save(self) -> dict[str, bytes]:
        text = json.dumps(self.vocab.to_json(), indent=2, ensure_ascii=False) + "\n"
        return {VOCAB_FILE: text.encode("utf-8")}

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, token: str) -> int:
        return self.vocab.word_id(token)

    @classmethod
    def dim(cls, options: ModelOptions) -> int:
        return options.word_dim

    @classmethod
    def table(cls, options: ModelOptions, size: int) -> nn.Module:
        """The word table, which in training reads ``word_dropout`` of the real words as "other",
        so that the "other" row learns what to do with a word it has never seen."""
        from slotfill.model.encoders.tables import DropoutEmbedding

        return DropoutEmbedding(size, cls.dim(options), options.word_dropout, OTHER)
