"""The tagger's contract: scores always, a loss only with gold labels, decoding as a separate call."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch
from torch.nn import functional as F

from slotfill.model.batch import Batch, Featurizer, collate
from slotfill.model.config import CELLS, Cell, ModelConfig, ModelOptions
from slotfill.model.encoders.trigram import TrigramEncoder
from slotfill.model.encoders.vocab import Vocabulary, WordEncoder
from slotfill.model.predictor import Predictor
from slotfill.model.tagger import SlotTagger
from slotfill.training.builder import build_model
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.seeding import seed_everything
from slotfill.training.trainer import FitResult, fit

TAGS = ("O", "B-dest", "I-dest", "B-time", "I-time")
INTENTS = ("airfare", "flight")
SENTENCES = [["fly", "to", "new", "york"], ["to", "boston", "on", "monday", "morning", "please"], ["hi"]]
GOLD = [["O", "O", "B-dest", "I-dest"], ["O", "B-dest", "O", "B-time", "I-time", "O"], ["O"]]
GOLD_INTENTS = ["flight", "flight", "airfare"]


def build(**settings: Any) -> tuple[SlotTagger, Batch, torch.Tensor, torch.Tensor]:
    """A small untrained tagger, the SENTENCES batch and gold tag/intent ids (padding tag = 3)."""
    base: dict[str, Any] = {
        "slot_tags": TAGS,
        "intents": INTENTS,
        "word_dim": 8,
        "trigram_dim": 8,
        "trigram_buckets": 128,
        "hidden_size": 6,
        "dropout": 0.0,
        "word_dropout": 0.0,
    }
    config = ModelConfig(**(base | settings))
    featurizer = _featurizer(config)
    torch.manual_seed(0)
    model = SlotTagger(config, featurizer.sizes)
    batch = collate([featurizer.featurize(s) for s in SENTENCES])
    tags = torch.full(batch.mask.shape, TAGS.index("B-time"), dtype=torch.long)
    for row, gold in enumerate(GOLD):
        tags[row, : len(gold)] = torch.tensor([TAGS.index(t) for t in gold])
    intents = torch.tensor([config.intents.index(i) for i in GOLD_INTENTS]) if config.intents else None
    return model, batch, tags, intents if intents is not None else torch.empty(0)


def _featurizer(config: ModelConfig) -> Featurizer:
    encoders = [WordEncoder(Vocabulary.build(SENTENCES)), TrigramEncoder(config.trigram_buckets)]
    return Featurizer(config, encoders)


def test_forward_without_labels_has_no_loss() -> None:
    model, batch, _, _ = build()
    output = model(batch)
    assert output.loss is None
    assert output.emissions.shape == (3, 6, len(TAGS))
    assert output.intent_logits is not None
    assert output.intent_logits.shape == (3, len(INTENTS))


@pytest.mark.parametrize("crf", [True, False])
def test_loss_with_tags_is_a_differentiable_scalar(crf: bool) -> None:
    model, batch, tags, _ = build(crf=crf)
    loss = model(batch, tags).loss
    assert loss is not None
    assert loss.shape == ()
    assert loss.item() > 0
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads
    assert all(torch.isfinite(g).all() for g in grads)


def test_crf_loss_is_mean_nll_per_token() -> None:
    model, batch, tags, _ = build()
    output = model(batch, tags)
    assert model.crf is not None
    expected = model.crf.nll(output.emissions, tags, batch.mask).sum() / 11
    assert output.loss is not None
    torch.testing.assert_close(output.loss, expected)


def test_softmax_loss_is_cross_entropy_on_real_tokens() -> None:
    model, batch, tags, _ = build(crf=False)
    output = model(batch, tags)
    expected = F.cross_entropy(output.emissions[batch.mask], tags[batch.mask])
    assert output.loss is not None
    torch.testing.assert_close(output.loss, expected)


@pytest.mark.parametrize("crf", [True, False])
def test_padding_tags_do_not_count(crf: bool) -> None:
    model, batch, tags, _ = build(crf=crf)
    other = tags.clone()
    other[~batch.mask] = TAGS.index("I-dest")
    first, second = model(batch, tags).loss, model(batch, other).loss
    assert first is not None
    assert second is not None
    torch.testing.assert_close(first, second)


def test_intent_loss_is_added_only_with_intents() -> None:
    # Without token votes (the default) the intent loss is the utterances' cross-entropy alone
    # (the votes' own term is checked in tests/model/test_intent.py).
    model, batch, tags, intents = build()
    slots_only = model(batch, tags)
    joint = model(batch, tags, intents)
    assert slots_only.loss is not None
    assert joint.loss is not None
    assert joint.intent_logits is not None
    torch.testing.assert_close(joint.loss - slots_only.loss, F.cross_entropy(joint.intent_logits, intents))


def test_intent_weight_scales_only_the_intent_loss() -> None:
    model, batch, tags, intents = build()
    model.eval()  # no dropout: the three passes see the same network
    slots_only = model(batch, tags)
    once, thrice = model(batch, tags, intents), model(batch, tags, intents, 3.0)
    assert slots_only.loss is not None
    assert once.loss is not None
    assert thrice.loss is not None
    torch.testing.assert_close(thrice.loss - slots_only.loss, 3 * (once.loss - slots_only.loss))


def test_intent_smoothing_smooths_only_the_intent_targets() -> None:
    model, batch, tags, intents = build()
    model.eval()
    slots_only, smoothed = model(batch, tags), model(batch, tags, intents, 1.0, 0.2)
    assert slots_only.loss is not None
    assert smoothed.loss is not None
    assert smoothed.intent_logits is not None
    expected = F.cross_entropy(smoothed.intent_logits, intents, label_smoothing=0.2)
    torch.testing.assert_close(smoothed.loss - slots_only.loss, expected)
    plain = F.cross_entropy(smoothed.intent_logits, intents)
    assert not torch.isclose(expected, plain)  # the smoothing reached the loss


def test_intent_ignores_padding() -> None:
    """Max and mean pooling see the real tokens only: a longer neighbour changes nothing."""
    model, batch, _, _ = build()
    model.eval()
    logits = model(batch).intent_logits
    featurizer = _featurizer(model.config)
    alone = model(collate([featurizer.featurize(SENTENCES[2])])).intent_logits
    assert logits is not None
    assert alone is not None
    # Batches of three and of one round differently (up to 3e-8 here); padding pooled in: 1e-2.
    torch.testing.assert_close(logits[2], alone[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("crf", [True, False])
def test_slots_only_model(crf: bool) -> None:
    model, batch, tags, _ = build(intents=(), crf=crf)
    assert model.intent_head is None
    assert (model.crf is not None) == crf
    output = model(batch, tags)
    assert output.intent_logits is None
    assert output.loss is not None
    decoded = model.decode(output, batch.mask)
    assert decoded.intents is None
    assert decoded.intent_probs is None


@pytest.mark.parametrize("crf", [True, False])
def test_decode_gives_one_tag_and_probability_per_token(crf: bool) -> None:
    model, batch, _, _ = build(crf=crf)
    model.eval()
    output = model(batch)
    decoded = model.decode(output, batch.mask)
    assert [len(p) for p in decoded.tags] == [4, 6, 1]
    assert [len(p) for p in decoded.tag_probs] == [4, 6, 1]
    assert all(0 < p <= 1 for row in decoded.tag_probs for p in row)
    assert decoded.intents is not None
    assert decoded.intent_probs is not None
    assert all(0 <= i < len(INTENTS) for i in decoded.intents)
    assert all(1 / len(INTENTS) <= p <= 1 for p in decoded.intent_probs)
    if not crf:  # argmax decoding: each tag is the most probable one, its probability the softmax max
        probs = output.emissions.softmax(-1)
        for row, (path, chosen) in enumerate(zip(decoded.tags, decoded.tag_probs, strict=True)):
            assert path == probs[row, : len(path)].argmax(-1).tolist()
            assert chosen == pytest.approx(probs[row, : len(path)].max(-1).values.tolist())


def test_decode_crf_probabilities_are_marginals_of_the_viterbi_tags() -> None:
    model, batch, _, _ = build()
    model.eval()
    output = model(batch)
    decoded = model.decode(output, batch.mask)
    assert model.crf is not None
    assert decoded.tags == model.crf.viterbi(output.emissions, batch.mask)
    marginals = model.crf.marginals(output.emissions, batch.mask)
    for row, (path, chosen) in enumerate(zip(decoded.tags, decoded.tag_probs, strict=True)):
        assert chosen == pytest.approx([marginals[row, t, k].item() for t, k in enumerate(path)])


@pytest.mark.parametrize("crf", [True, False])
def test_decode_divides_the_scores_by_the_configured_temperatures(crf: bool) -> None:
    model, batch, _, _ = build(crf=crf)
    model.eval()
    output = model(batch)
    plain = model.decode(output, batch.mask)
    model.config = model.config.replace(slot_temperature=2.0, intent_temperature=0.5)
    scaled = model.decode(output, batch.mask)
    assert scaled.tags == plain.tags and scaled.intents == plain.intents  # predictions stay
    assert output.intent_logits is not None
    expected_intent = (output.intent_logits / 0.5).softmax(-1).max(-1).values
    assert scaled.intent_probs == pytest.approx(expected_intent.tolist())
    if model.crf is not None:
        probs = model.crf.marginals(output.emissions, batch.mask, 2.0)
    else:
        probs = (output.emissions / 2.0).softmax(-1)
    for row, (path, chosen) in enumerate(zip(scaled.tags, scaled.tag_probs, strict=True)):
        assert chosen == pytest.approx([probs[row, t, k].item() for t, k in enumerate(path)])
    assert scaled.tag_probs != plain.tag_probs


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_overfits_two_sentences(cell: Cell) -> None:
    """Real learning, not just shapes: 60 Adam steps fit the gold tags of the batch."""
    model, batch, tags, intents = build(cell=cell, num_layers=2, bidirectional=cell != "gru")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        loss = model(batch, tags, intents).loss
        assert loss is not None
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert losses[-1] < losses[0] / 10
    model.eval()
    decoded = model.decode(model(batch), batch.mask)
    assert [[TAGS[i] for i in path] for path in decoded.tags] == GOLD
    assert decoded.intents is not None
    assert [INTENTS[i] for i in decoded.intents] == GOLD_INTENTS


def test_trained_confidences_carry_information(tiny_predictor: Predictor) -> None:
    texts = [
        ["arrive", "taipei", "on", "november", "2nd"],
        ["leave", "boston", "on", "friday"],
        ["xyzzy", "plugh", "on", "frobnicate"],
        ["fly", "from", "miami", "to", "zanzibar"],
    ]
    taggings = tiny_predictor.tag(texts)
    for tagging, tokens in zip(taggings, texts, strict=True):
        assert len(tagging.tags) == len(tagging.confidences) == len(tokens)
        assert all(0 < c <= 1 for c in tagging.confidences)
        assert len({round(c, 6) for c in tagging.confidences}) > 1, tagging
    means = [sum(t.confidences) / len(t.confidences) for t in taggings]
    assert len({round(m, 6) for m in means}) == len(means)
    # Known words in a pattern seen in training are surer than gibberish in an unseen one.
    assert means[0] > means[2]


Data = tuple[list[Example], list[Example]]


def _trained(
    data: Data, settings: ModelOptions, build_seed: int, fit_seed: int
) -> tuple[SlotTagger, FitResult]:
    train, dev = data
    seed_everything(build_seed)
    model, featurizer = build_model(train, settings)
    config = TrainConfig(epochs=4, batch_size=8, lr=1e-2, seed=fit_seed)
    return model, fit(model, featurizer, train, dev, config, torch.device("cpu"), progress=False)


def _same_weights(first: SlotTagger, second: SlotTagger) -> bool:
    a, b = first.state_dict(), second.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_is_deterministic(travel_data: Data, tiny_settings: ModelOptions) -> None:
    first, first_result = _trained(travel_data, tiny_settings, 7, 7)
    second, second_result = _trained(travel_data, tiny_settings, 7, 7)
    assert first_result.history == [
        dataclasses.replace(entry, seconds=first_entry.seconds)
        for entry, first_entry in zip(second_result.history, first_result.history, strict=True)
    ]
    assert first_result.best_dev == second_result.best_dev
    assert _same_weights(first, second)
    # Same start, another seed for the data order and dropout: another model.
    third, _ = _trained(travel_data, tiny_settings, 7, 8)
    assert not _same_weights(first, third)
