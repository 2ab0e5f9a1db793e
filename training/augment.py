"""Slot-value swapping: training utterances whose slot values are replaced by others of the same slot.

Why: in a small corpus each context is seen with few values ("arrive in <dest>" mostly with the
same dozen cities), so a tagger can get a slot right by memorising the value instead of reading
its context, and the intent head can lean on the value ("outcast" looks like a book title) instead
of the request. Swapping every span of an utterance, with probability ``rate``, for a span of the
same slot drawn from anywhere in the training data keeps the context and the labels but breaks
that shortcut. The swap works on featurised utterances (word ids and letter-trigram bags per
token), so it costs a few list splices per utterance and no re-tokenising.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from model.batch import Features
from model.spans import tags_to_spans


class SlotSwapper:
    """Draws, per training step, either the utterance as it is or one with its slot values swapped."""

    def __init__(
        self,
        features: Sequence[Features],
        tag_ids: Sequence[Sequence[int]],
        tag_names: Sequence[str],
        rate: float,
        seed: int,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"the slot swap rate must be in [0, 1], got {rate}")
        self.features = features
        self.tag_ids = tag_ids
        self.rate = rate
        self.random = random.Random(seed)
        self.spans: list[list[tuple[str, int, int]]] = []
        self.donors: dict[str, list[tuple[int, int, int]]] = {}
        for index, ids in enumerate(tag_ids):
            spans = [(s.label, s.start, s.end) for s in tags_to_spans([tag_names[i] for i in ids])]
            self.spans.append(spans)
            for label, start, end in spans:
                self.donors.setdefault(label, []).append((index, start, end))

    def draw(self, index: int) -> tuple[Features, list[int]]:
        """Utterance ``index``, with all of its slot values swapped with probability ``rate``."""
        features, tags = self.features[index], list(self.tag_ids[index])
        spans = self.spans[index]
        if not spans or self.random.random() >= self.rate:
            return features, tags
        pieces: list[tuple[int, int, int]] = []  # (utterance, start, end) runs to concatenate
        position = 0
        for label, start, end in spans:
            pieces.append((index, position, start))
            pieces.append(self.random.choice(self.donors[label]))
            position = end
        pieces.append((index, position, len(tags)))
        return self._splice(pieces)

    def _splice(self, pieces: Sequence[tuple[int, int, int]]) -> tuple[Features, list[int]]:
        word_ids: list[int] = []
        tags: list[int] = []
        bags: dict[str, list[tuple[int, ...]]] = {name: [] for name in self.features[0].bags}
        for source, start, end in pieces:
            features = self.features[source]
            word_ids.extend(features.word_ids[start:end])
            tags.extend(self.tag_ids[source][start:end])
            for name, bag in bags.items():
                bag.extend(features.bags[name][start:end])
        return Features(tuple(word_ids), {name: tuple(bag) for name, bag in bags.items()}), tags
