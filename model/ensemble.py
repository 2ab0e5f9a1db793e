"""Several networks, trained apart, answering as one: their scores are averaged.

Networks that differ only in their seed make different mistakes, so their average is right more
often than any one of them. Averaging the scores themselves, rather than the answers, keeps one
CRF: the mean of the members' emissions and transition tables scores every tag path by the mean of
the members' path scores (a product of experts), so Viterbi still finds the single best legal
path and the marginals stay exact. Intents average the members' probabilities.

On held-out ATIS and SNIPS training data two members raised slot F1 by 0.2-0.55 and sentence
accuracy by 0.5-1.1 points over the mean single network (BENCHMARKS.md, "Choosing settings").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from slotfill.model.batch import Batch
from slotfill.model.config import ModelConfig
from slotfill.model.crf import CRF
from slotfill.model.tagger import SlotTagger, Tagger, TaggerOutput


def member_config(config: ModelConfig) -> ModelConfig:
    """A member's own settings: one network, uncalibrated (the ensemble is calibrated as a whole)."""
    return config.replace(members=1, slot_temperature=1.0, intent_temperature=1.0)


class TaggerEnsemble(Tagger):
    """``config.members`` networks of ``member_config(config)``; scores are their mean."""

    def __init__(self, config: ModelConfig, members: Sequence[SlotTagger]) -> None:
        super().__init__()
        if len(members) != config.members or len(members) < 2:
            raise ValueError(f"an ensemble of {config.members} needs as many networks, got {len(members)}")
        expected = member_config(config)
        for index, member in enumerate(members):
            if member.config != expected:
                raise ValueError(f"member {index}'s settings or labels differ from the ensemble's")
        self.config = config
        self.members = nn.ModuleList(members)
        self.crf = CRF(config.slot_tags) if config.crf else None
        self._average_tables()

    def _average_tables(self) -> None:
        """Set the shared CRF's tables to the members' mean."""
        if self.crf is None:
            return
        with torch.no_grad():
            for name in ("transitions", "start", "end"):
                tables = [getattr(member.crf, name) for member in self.members]
                getattr(self.crf, name).copy_(torch.stack(tables).mean(0))

    def round_to_storage(self) -> None:
        """Round the members, then average their rounded tables and round the mean too, so the
        shared CRF is the same whether the members were rounded before or after joining."""
        for member in self.members:
            member.round_to_storage()  # type: ignore[operator]
        self._average_tables()
        super().round_to_storage()

    def forward(self, batch: Batch) -> TaggerOutput:
        """Mean emissions, and intent scores whose softmax is the members' mean probability."""
        return combine_outputs([member(batch) for member in self.members])


def combine_outputs(outputs: Sequence[TaggerOutput]) -> TaggerOutput:
    """The members' scores as one: mean emissions, intent logits whose softmax is their mean
    probability (shared with the ONNX graph, ``model.onnx_graph``)."""
    emissions = torch.stack([o.emissions.float() for o in outputs]).mean(0)
    logits = [o.intent_logits for o in outputs if o.intent_logits is not None]
    intent_logits = None
    if logits:
        log_probs = torch.stack([x.float().log_softmax(-1) for x in logits])
        intent_logits = torch.logsumexp(log_probs, 0) - math.log(len(logits))
    return TaggerOutput(emissions, intent_logits)


def build_tagger(config: ModelConfig, sizes: Mapping[str, int]) -> Tagger:
    """A fresh (untrained) tagger of ``config``'s shape: one network, or an ensemble of them.

    ``sizes``: each encoder's number of ids (``Featurizer.sizes``).
    """
    if config.members == 1:
        return SlotTagger(config, sizes)
    single = member_config(config)
    return TaggerEnsemble(config, [SlotTagger(single, sizes) for _ in range(config.members)])
