"""The utterance-level intent head: pool the recurrent states, then classify.

Pooling: ``maxmean`` concatenates max- and mean-pooling (max finds the decisive word, mean the
gist); ``attention`` replaces the mean with a learned attention over the words (Liu & Lane,
2016), so the head can weigh "fares" in "flights and fares" above the words of the slots.

Compound intents such as ATIS ``atis_flight#atis_airfare`` are scored as the sum of their parts'
scores plus a bias of their own (a factored softmax over the labels seen in training). A rare
compound then borrows the evidence of its common parts: every "fares" question teaches the
``atis_airfare`` part, which the 19 training examples of the compound alone could not.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


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


class IntentHead(nn.Module):
    def __init__(self, input_dim: int, intents: Sequence[str], pooling: str, separator: str) -> None:
        super().__init__()
        self.attention = (
            nn.Sequential(nn.Linear(input_dim, input_dim), nn.Tanh(), nn.Linear(input_dim, 1, bias=False))
            if pooling == "attention"
            else None
        )
        parts, matrix = intent_parts(intents, separator)
        self.compound = len(parts) != len(intents) or bool((matrix.sum(1) > 1).any())
        self.classify = nn.Linear(2 * input_dim, len(parts) if self.compound else len(intents))
        self.composition: torch.Tensor
        self.register_buffer("composition", matrix, persistent=False)
        self.bias = nn.Parameter(torch.zeros(len(intents))) if self.compound else None

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, H) states and (B, T) mask -> (B, intents) logits."""
        padding = ~mask.unsqueeze(2)
        maxed = states.masked_fill(padding, float("-inf")).max(dim=1).values  # (B, H)
        if self.attention is not None:
            weights = self.attention(states).masked_fill(padding, float("-inf")).softmax(dim=1)  # (B, T, 1)
            summary = (weights * states).sum(dim=1)  # (B, H)
        else:
            summary = states.sum(dim=1) / mask.sum(dim=1, keepdim=True).to(states.dtype)
        logits: torch.Tensor = self.classify(torch.cat([maxed, summary], dim=1))  # (B, parts or intents)
        if self.bias is not None:
            logits = logits @ self.composition.to(logits.dtype).t() + self.bias  # (B, intents)
        return logits
