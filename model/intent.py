"""The utterance-level intent head: pool the recurrent states, then classify (and let words vote).

Pooling: ``maxmean`` concatenates max- and mean-pooling (max finds the decisive word, mean the
gist); ``attention`` replaces the mean with a learned attention over the words (Liu & Lane,
2016), so the head can weigh "fares" in "flights and fares" above the words of the slots.

Token votes (the token-level intent detection of Qin et al., 2019), off by default: each word's
state also scores the intents, trained against the utterance's intent at every word, and the
utterance's score adds the mean vote, so every position must carry the intent rather than one
pooled vector. On ATIS and SNIPS it raised dev scores but lowered slot F1 on held-out training
data and on test (BENCHMARKS.md), hence an option rather than the default.

Compound intents such as ATIS ``atis_flight#atis_airfare`` are scored as the sum of their parts'
scores plus a bias of their own (a factored softmax over the labels seen in training). A rare
compound then borrows the evidence of its common parts: every "fares" question teaches the
``atis_airfare`` part, which the 19 training examples of the compound alone could not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


def intent_parts(intents: Sequence[str], separator: str) -> tuple[list[str], torch.Tensor]:
    """The distinct parts of the intent labels and the (labels, parts) 0/1 composition matrix.

    >>> parts, matrix = intent_parts(["a", "b", "a#b"], "#")
    >>> parts, matrix.tolist()
    (['a', 'b'], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    """
    split = [intent.split(separator) if separator else [intent] for intent in intents]
    parts = sorted({part for pieces in split for part in pieces})
    index = {part: i for i, part in enumerate(parts)}
    matrix = torch.zeros(len(intents), len(parts))
    for row, pieces in enumerate(split):
        for piece in pieces:
            matrix[row, index[piece]] = 1.0
    return parts, matrix


@dataclass(frozen=True)
class IntentScores:
    logits: torch.Tensor  # (B, I): the utterance's scores, votes included; what decoding reads
    votes: torch.Tensor | None  # (B, T, I): each word's own scores, None without token votes


class IntentHead(nn.Module):
    def __init__(
        self,
        input_dim: int,
        intents: Sequence[str],
        pooling: str,
        separator: str,
        token_votes: bool = False,
    ) -> None:
        super().__init__()
        self.attention = (
            nn.Sequential(nn.Linear(input_dim, input_dim), nn.Tanh(), nn.Linear(input_dim, 1, bias=False))
            if pooling == "attention"
            else None
        )
        parts, matrix = intent_parts(intents, separator)
        self.compound = len(parts) != len(intents) or bool((matrix.sum(1) > 1).any())
        outputs = len(parts) if self.compound else len(intents)
        self.classify = nn.Linear(2 * input_dim, outputs)
        self.vote = nn.Linear(input_dim, outputs) if token_votes else None
        self.composition: torch.Tensor
        self.register_buffer("composition", matrix, persistent=False)
        self.bias = nn.Parameter(torch.zeros(len(intents))) if self.compound else None

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> IntentScores:
        """(B, T, H) states and (B, T) mask -> intent scores of the utterances (and of each word)."""
        padding = ~mask.unsqueeze(2)
        maxed = states.masked_fill(padding, float("-inf")).max(dim=1).values  # (B, H)
        if self.attention is not None:
            weights = self.attention(states).masked_fill(padding, float("-inf")).softmax(dim=1)  # (B, T, 1)
            summary = (weights * states).sum(dim=1)  # (B, H)
        else:
            summary = states.sum(dim=1) / mask.sum(dim=1, keepdim=True).to(states.dtype)
        logits = self._compose(self.classify(torch.cat([maxed, summary], dim=1)))  # (B, I)
        votes = None
        if self.vote is not None:
            votes = self._compose(self.vote(states))  # (B, T, I)
            real = mask.unsqueeze(2).to(votes.dtype)
            logits = logits + (votes * real).sum(dim=1) / real.sum(dim=1)
        return IntentScores(logits, votes)

    def loss(
        self, scores: IntentScores, intents: torch.Tensor, mask: torch.Tensor, smoothing: float = 0.0
    ) -> torch.Tensor:
        """Cross-entropy of the utterances' scores, plus that of every real word's vote.

        ``smoothing`` moves that share of each target's probability onto all labels evenly, so the
        head is not pushed to certainty on the frequent intents (ATIS: 74% ``atis_flight``).
        """
        loss = F.cross_entropy(scores.logits.float(), intents, label_smoothing=smoothing)
        if scores.votes is not None:
            per_word = intents.unsqueeze(1).expand(mask.shape)
            votes = scores.votes.float()[mask]
            loss = loss + F.cross_entropy(votes, per_word[mask], label_smoothing=smoothing)
        return loss

    def _compose(self, scores: torch.Tensor) -> torch.Tensor:
        """Scores of the parts -> scores of the labels (unchanged when every label is atomic)."""
        if self.bias is None:
            return scores
        return scores @ self.composition.to(scores.dtype).t() + self.bias
