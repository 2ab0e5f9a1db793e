"""Featurising and collating: padded ids, masks, and the flat bags ``nn.EmbeddingBag`` reads."""

from __future__ import annotations

import pytest
import torch

from slotfill.model.batch import Features, Featurizer, collate
from slotfill.model.config import ModelConfig
from slotfill.model.encoders.trigram import TrigramEncoder, trigram_ids
from slotfill.model.encoders.vocab import OTHER, Vocabulary, WordEncoder

BUCKETS = 97


@pytest.fixture
def featurizer() -> Featurizer:
    config = ModelConfig(slot_tags=("O",), trigram_buckets=BUCKETS)
    return Featurizer(config, [WordEncoder(Vocabulary(["to", "boston", "on"])), TrigramEncoder(BUCKETS)])


def test_featurize(featurizer: Featurizer) -> None:
    features = featurizer.featurize(["to", "Boston", "tomorrow"])
    assert len(features) == 3
    assert features.ids == {"word": (2, 3, OTHER)}
    assert features.bags == {"trigram": tuple(trigram_ids(w, BUCKETS) for w in ["to", "boston", "tomorrow"])}


def test_featurize_only_the_configured_encoders() -> None:
    config = ModelConfig(slot_tags=("O",), encoders=("word",))
    features = Featurizer(config, [WordEncoder(Vocabulary([]))]).featurize(["a"])
    assert features.ids == {"word": (OTHER,)}
    assert features.bags == {}
    config = ModelConfig(slot_tags=("O",), encoders=("trigram",), trigram_buckets=BUCKETS)
    features = Featurizer(config, [TrigramEncoder(BUCKETS)]).featurize(["a", "b"])
    assert features.ids == {}
    assert len(features) == 2


def test_featurizer_wants_exactly_the_configured_encoders() -> None:
    config = ModelConfig(slot_tags=("O",), encoders=("word", "trigram"))
    with pytest.raises(ValueError, match="encoders are word, trigram, but word were given"):
        Featurizer(config, [WordEncoder(Vocabulary([]))])
    with pytest.raises(ValueError, match="but word, trigram were given"):
        Featurizer(config.replace(encoders=("word",)), [WordEncoder(Vocabulary([])), TrigramEncoder(7)])


def test_collate_shapes_and_mask(featurizer: Featurizer) -> None:
    sentences = [["to", "boston"], ["fly", "to", "boston", "on", "monday"], ["on"]]
    batch = collate([featurizer.featurize(s) for s in sentences])
    assert batch.lengths.tolist() == [2, 5, 1]
    assert batch.lengths.dtype == torch.long
    assert batch.mask.tolist() == [
        [True, True, False, False, False],
        [True, True, True, True, True],
        [True, False, False, False, False],
    ]
    assert batch.ids["word"].tolist() == [[2, 3, 0, 0, 0], [OTHER, 2, 3, 4, OTHER], [4, 0, 0, 0, 0]]


def test_collate_bag_offsets(featurizer: Featurizer) -> None:
    sentences = [["to", "boston"], ["fly", "to", "boston", "on", "monday"], ["on"]]
    batch = collate([featurizer.featurize(s) for s in sentences])
    flat, offsets = batch.bags["trigram"]
    words = [w for s in sentences for w in s]  # row-major order of the real tokens
    assert offsets.tolist()[:3] == [0, 2, 2 + 6]  # "#to" "to#" | "#bo" .. "on#" (6) | "#fl" ..
    assert len(offsets) == len(words) == int(batch.mask.sum())
    assert len(flat) == sum(len(trigram_ids(w, BUCKETS)) for w in words)
    # Token (row 1, position 4) = "monday", the 7th real token: its bag runs to the next offset.
    index = 2 + 4
    assert words[index] == "monday"
    assert tuple(flat[offsets[index] : offsets[index + 1]].tolist()) == trigram_ids("monday", BUCKETS)
    # The last token's bag runs to the end.
    assert tuple(flat[offsets[-1] :].tolist()) == trigram_ids("on", BUCKETS)


def test_batch_to_keeps_lengths_on_the_cpu(featurizer: Featurizer) -> None:
    batch = collate([featurizer.featurize(["to", "boston"])]).to(torch.device("meta"))
    assert batch.mask.device.type == "meta"
    assert batch.ids["word"].device.type == "meta"
    assert all(ids.device.type == "meta" and offs.device.type == "meta" for ids, offs in batch.bags.values())
    assert batch.lengths.device.type == "cpu"


@pytest.mark.parametrize(
    "features",
    [[], [Features({"word": ()}, {})], [Features({"word": (2,)}, {}), Features({"word": ()}, {})]],
    ids=["no utterance", "empty utterance", "one empty among others"],
)
def test_collate_refuses_empty_input(features: list[Features]) -> None:
    with pytest.raises(ValueError, match="at least one"):
        collate(features)
