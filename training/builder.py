"""A fresh tagger sized for its training data: label sets, and encoders fitted on its words."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slotfill.model.batch import Featurizer
from slotfill.model.config import ModelConfig, ModelOptions
from slotfill.model.spans import split_tag
from slotfill.model.tagger import SlotTagger
from slotfill.training.data import Example

logger = logging.getLogger(__name__)


def label_sets(train: Sequence[Example]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Slot tags (O, then B-/I- of every slot type in train) and intents (when all have one)."""
    types = sorted({split_tag(tag)[1] for e in train for tag in e.tags} - {""})
    tags = ("O", *(f"{prefix}-{t}" for t in types for prefix in ("B", "I")))
    has_intent = [e.intent is not None for e in train]
    if any(has_intent) and not all(has_intent):
        logger.warning(
            "only %d of %d training utterances have an intent: training slots only",
            sum(has_intent),
            len(train),
        )
    intents = tuple(sorted({e.intent for e in train if e.intent is not None})) if all(has_intent) else ()
    return tags, intents


def build_featurizer(train: Sequence[Example], options: ModelOptions) -> Featurizer:
    """The settings and labels of a tagger for the training data, with its encoders fitted on the
    training words (a vocabulary, a subword model): everything but the network, which
    ``training.members`` builds per member."""
    tags, intents = label_sets(train)
    config = ModelConfig(slot_tags=tags, intents=intents, **options.model_dump())
    return Featurizer.fit(config, [e.tokens for e in train])


def build_model(train: Sequence[Example], options: ModelOptions) -> tuple[SlotTagger, Featurizer]:
    """A fresh tagger sized for the training data, with its fitted encoders."""
    featurizer = build_featurizer(train, options)
    return SlotTagger(featurizer.config, featurizer.sizes), featurizer
