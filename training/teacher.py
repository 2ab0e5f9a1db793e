"""A trained tagger's answers as soft targets, and the loss that mixes them with the gold labels.

Why soft targets: an ensemble's per-token marginals say more than its best path. Where the pair
hesitates between ``fromloc.city_name`` and ``toloc.city_name`` the marginals carry that doubt,
and the intent probabilities carry which intents look alike. A single network trained to match
them (knowledge distillation, Hinton et al. 2015; for CRF marginals, Wang et al. 2020) learns
more of what the ensemble knows than the gold labels alone teach it, and answers at one network's
cost (``training.distill``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from slotfill.model.batch import Batch
from slotfill.model.crf import CRF
from slotfill.model.tagger import Tagger, TaggerOutput

# log-probabilities of tags the BIO rules forbid are -inf at a first token; a teacher gives them
# no mass, so their term is 0 * (clamped log p) and contributes neither a value nor a gradient.
_LOG_FLOOR = -1e4


@dataclass(frozen=True)
class SoftTargets:
    """The teacher's probabilities for one batch."""

    tags: torch.Tensor  # (B, T, K); rows past an utterance's end are ignored
    intents: torch.Tensor | None  # (B, I)


def _tag_log_probs(crf: CRF | None, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-token log-probabilities of every tag: CRF marginals, or a softmax without a CRF."""
    if crf is None:
        return emissions.float().log_softmax(-1)
    return crf.log_marginals(emissions.float(), mask)


def _kl(targets: torch.Tensor, log_probs: torch.Tensor) -> torch.Tensor:
    """KL(targets || probs) over the last axis, one value per row: cross-entropy less the
    targets' own entropy, so a student that matches its teacher exactly scores 0."""
    cross = -(targets * log_probs.clamp(min=_LOG_FLOOR)).sum(-1)
    negative_entropy: torch.Tensor = torch.special.xlogy(targets, targets).sum(-1)
    return cross + negative_entropy


class Teacher:
    """A trained tagger (usually an ensemble) whose answers a student learns beside the gold.

    ``weight`` is the soft targets' share of the loss: ``(1 - weight) * gold + weight * soft``,
    where ``soft`` is the mean per-token KL of the tag marginals plus ``intent_weight`` times the
    mean per-utterance KL of the intent probabilities, the same balance the gold loss has.
    """

    def __init__(self, model: Tagger, weight: float, intent_weight: float = 1.0) -> None:
        if not 0.0 < weight <= 1.0:
            raise ValueError(f"the soft targets' weight must be in (0, 1], got {weight}")
        self.model = model.eval()
        self.weight = weight
        self.intent_weight = intent_weight

    @torch.no_grad()
    def targets(self, batch: Batch) -> SoftTargets:
        """The teacher's tag marginals and intent probabilities for ``batch``, at temperature 1
        (the student is calibrated on its own afterwards)."""
        output: TaggerOutput = self.model(batch)
        tags = _tag_log_probs(self.model.crf, output.emissions, batch.mask).exp()
        intents = None if output.intent_logits is None else output.intent_logits.float().softmax(-1)
        return SoftTargets(tags, intents)

    def soft_loss(self, student: Tagger, output: TaggerOutput, batch: Batch) -> torch.Tensor:
        """How far the student's answers for ``batch`` are from the teacher's."""
        targets = self.targets(batch)
        mask = batch.mask
        log_probs = _tag_log_probs(student.crf, output.emissions, mask)
        loss = _kl(targets.tags, log_probs)[mask].mean()
        if targets.intents is not None and output.intent_logits is not None:
            intent_log_probs = F.log_softmax(output.intent_logits.float(), -1)
            loss = loss + self.intent_weight * _kl(targets.intents, intent_log_probs).mean()
        return loss

    def mix(
        self, gold_loss: torch.Tensor, student: Tagger, output: TaggerOutput, batch: Batch
    ) -> torch.Tensor:
        """The student's training loss: the gold loss and the soft one, in their shares."""
        return (1.0 - self.weight) * gold_loss + self.weight * self.soft_loss(student, output, batch)
