"""Sentencepiece subwords, the model trained by the pipeline itself on the training words.

Each word is encoded on its own, so its pieces can be pooled into one vector per word and the
subword view lines up with the word-level tags.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Self

import sentencepiece as spm

from slotfill.model.encoders.base import BagEncoder, EncoderStateError
from slotfill.model.tokenize import normalize

if TYPE_CHECKING:
    from slotfill.model.config import ModelOptions

SUBWORDS_FILE = "spm.model"


class SubwordModel:
    """A loaded sentencepiece model with a per-word cache."""

    def __init__(self, model_proto: bytes) -> None:
        self.model_proto = model_proto
        self._processor = spm.SentencePieceProcessor(model_proto=model_proto)
        self._encode_word = lru_cache(maxsize=65_536)(self._encode_uncached)

    @classmethod
    def train(cls, sentences: Iterable[Iterable[str]], vocab_size: int) -> SubwordModel:
        """Train a unigram sentencepiece model on the normalised training words.

        One thread and a fixed input order keep it deterministic; ``hard_vocab_limit=False``
        lets a small corpus yield fewer pieces than asked for instead of failing.
        """
        lines = [" ".join(normalize(word) for word in sentence) for sentence in sentences]
        buffer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(lines),
                model_writer=buffer,
                vocab_size=vocab_size,
                model_type="unigram",
                character_coverage=1.0,
                hard_vocab_limit=False,
                num_threads=1,
                minloglevel=2,
            )
        except RuntimeError as error:
            # Typically: fewer pieces asked for than the data has distinct characters.
            raise ValueError(f"spm_vocab_size {vocab_size} does not suit this data: {error}") from None
        return cls(buffer.getvalue())

    def __len__(self) -> int:
        return int(self._processor.get_piece_size())

    def _encode_uncached(self, word: str) -> tuple[int, ...]:
        ids = self._processor.encode(normalize(word), out_type=int)
        return tuple(ids) or (self._processor.unk_id(),)

    def encode(self, word: str) -> tuple[int, ...]:
        """Piece ids of one word (never empty: a word of no pieces maps to ``<unk>``)."""
        result: tuple[int, ...] = self._encode_word(word)
        return result


class SubwordEncoder(BagEncoder):
    """The ``spm`` encoder: a sentencepiece model trained on the training words, kept in its own
    ``spm.model`` format."""

    name = "spm"
    summary = "sentencepiece subwords trained on the data"
    files = (SUBWORDS_FILE,)
    size_key = "subword_size"

    def __init__(self, model: SubwordModel) -> None:
        self.model = model

    @classmethod
    def fit(cls, options: ModelOptions, sentences: Sequence[Sequence[str]]) -> Self:
        return cls(SubwordModel.train(sentences, options.spm_vocab_size))

    @classmethod
    def load(cls, options: ModelOptions, files: Mapping[str, bytes]) -> Self:
        try:
            return cls(SubwordModel(files[SUBWORDS_FILE]))
        except RuntimeError as error:
            raise EncoderStateError(SUBWORDS_FILE, f"not a usable sentencepiece model ({error})") from None

    def save(self) -> dict[str, bytes]:
        return {SUBWORDS_FILE: self.model.model_proto}

    def __len__(self) -> int:
        return len(self.model)

    def encode(self, token: str) -> tuple[int, ...]:
        return self.model.encode(token)

    @classmethod
    def dim(cls, options: ModelOptions) -> int:
        return options.spm_dim
