"""The intent head: pooling over real words only, compound intents scored from their parts, votes."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from slotfill.model.intent import IntentHead, intent_parts

MASK = torch.tensor([[True, True, True], [True, True, False]])


def test_parts_of_compound_intents() -> None:
    parts, matrix = intent_parts(["flight", "airfare", "flight#airfare"], "#")
    assert parts == ["airfare", "flight"]
    assert matrix.tolist() == [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]


def test_empty_separator_keeps_labels_whole() -> None:
    parts, matrix = intent_parts(["a#b", "a"], "")
    assert parts == ["a", "a#b"]
    assert matrix.sum(1).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("pooling", ["attention", "maxmean"])
def test_compound_logit_is_the_sum_of_its_parts_plus_its_bias(pooling: str) -> None:
    torch.manual_seed(0)
    head = IntentHead(4, ["flight", "airfare", "flight#airfare"], pooling, "#")
    assert head.compound and head.bias is not None
    with torch.no_grad():
        head.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
    states, mask = torch.randn(2, 3, 4), torch.tensor([[True, True, True], [True, True, False]])
    scores = head(states, mask)
    logits = scores.logits
    assert logits.shape == (2, 3) and scores.votes is None
    # parts are sorted: airfare = 0, flight = 1
    padding = ~mask.unsqueeze(2)
    maxed = states.masked_fill(padding, float("-inf")).max(dim=1).values
    if head.attention is not None:
        weights = head.attention(states).masked_fill(padding, float("-inf")).softmax(dim=1)
        summary = (weights * states).sum(dim=1)
    else:
        summary = states.sum(dim=1) / mask.sum(1, keepdim=True)
    parts = head.classify(torch.cat([maxed, summary], dim=1))
    expected = torch.stack([parts[:, 1] + 0.1, parts[:, 0] + 0.2, parts[:, 0] + parts[:, 1] + 0.3], dim=1)
    torch.testing.assert_close(logits, expected)


def test_atomic_intents_use_a_plain_classifier() -> None:
    head = IntentHead(4, ["a", "b", "c"], "attention", "#")
    assert not head.compound and head.bias is None
    assert head.classify.out_features == 3


@pytest.mark.parametrize("votes", [False, True])
def test_padding_never_reaches_the_intent(votes: bool) -> None:
    torch.manual_seed(0)
    head = IntentHead(4, ["a", "b"], "attention", "#", token_votes=votes)
    states = torch.randn(1, 4, 4)
    mask = torch.tensor([[True, True, False, False]])
    noisy = states.clone()
    noisy[:, 2:] = 1e6
    torch.testing.assert_close(head(states, mask).logits, head(noisy, mask).logits)


def test_votes_add_the_mean_vote_of_the_real_words() -> None:
    torch.manual_seed(0)
    head = IntentHead(4, ["flight", "airfare", "flight#airfare"], "attention", "#", token_votes=True)
    assert head.vote is not None and head.bias is not None
    states = torch.randn(2, 3, 4)
    scores = head(states, MASK)
    assert scores.votes is not None and scores.votes.shape == (2, 3, 3)
    # Each word's vote is composed from its parts like the utterance's score: flight#airfare's vote
    # is the sum of its parts' votes plus the compound's bias.
    parts = head.vote(states)  # parts: airfare = 0, flight = 1
    torch.testing.assert_close(scores.votes[..., 2], parts[..., 0] + parts[..., 1] + head.bias[2])
    pooled = scores.logits - torch.stack([scores.votes[0].mean(0), scores.votes[1, :2].mean(0)])
    head.vote = None  # the same head without votes gives the pooled part alone
    torch.testing.assert_close(head(states, MASK).logits, pooled)


@pytest.mark.parametrize("votes", [False, True])
def test_loss_adds_every_real_words_vote(votes: bool) -> None:
    torch.manual_seed(0)
    head = IntentHead(4, ["a", "b", "c"], "maxmean", "#", token_votes=votes)
    scores = head(torch.randn(2, 3, 4), MASK)
    gold = torch.tensor([2, 0])
    expected = F.cross_entropy(scores.logits, gold)
    if votes:
        assert scores.votes is not None
        words = [scores.votes[0, 0], scores.votes[0, 1], scores.votes[0, 2], scores.votes[1, 0]]
        words.append(scores.votes[1, 1])  # the padding at [1, 2] casts no vote
        expected = expected + F.cross_entropy(torch.stack(words), torch.tensor([2, 2, 2, 0, 0]))
    torch.testing.assert_close(head.loss(scores, gold, MASK), expected)
