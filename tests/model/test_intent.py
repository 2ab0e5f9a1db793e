"""The intent head: pooling over real words only, and compound intents scored from their parts."""

from __future__ import annotations

import pytest
import torch

from model.intent import IntentHead, intent_parts


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
    logits = head(states, mask)
    assert logits.shape == (2, 3)
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


def test_padding_never_reaches_the_intent() -> None:
    torch.manual_seed(0)
    head = IntentHead(4, ["a", "b"], "attention", "#")
    states = torch.randn(1, 4, 4)
    mask = torch.tensor([[True, True, False, False]])
    noisy = states.clone()
    noisy[:, 2:] = 1e6
    torch.testing.assert_close(head(states, mask), head(noisy, mask))
