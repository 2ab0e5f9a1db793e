"""The slot tagger: token embedder -> recurrent encoder -> slot emissions (+ CRF) and intent.

``forward(batch, tags, intents)`` returns scores and, only when gold labels are passed, the loss;
decoding is a separate call, as in nanoGPT and AllenNLP's CRF tagger. ``Tagger`` is what every
consumer (predictor, calibration, model folder) sees: one network here, or several whose scores
are averaged (``model.ensemble``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from slotfill.model import crf_decode
from slotfill.model.batch import Batch
from slotfill.model.config import ModelConfig
from slotfill.model.crf import CRF
from slotfill.model.embedder import TokenEmbedder
from slotfill.model.intent import IntentHead
from slotfill.model.recurrent import RecurrentEncoder


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    shifted = np.exp(scores - scores.max(-1, keepdims=True))
    probs: np.ndarray = shifted / shifted.sum(-1, keepdims=True)
    return probs


@dataclass(frozen=True)
class TaggerOutput:
    emissions: torch.Tensor  # (B, T, K) slot tag scores
    intent_logits: torch.Tensor | None  # (B, I), None for a slots-only model
    loss: torch.Tensor | None = None  # scalar, only when gold labels were given


@dataclass(frozen=True)
class Decoded:
    """Tag ids with the probability of each chosen tag, and the intent with its probability."""

    tags: list[list[int]]
    tag_probs: list[list[float]]
    intents: list[int] | None
    intent_probs: list[float] | None


class Tagger(nn.Module):
    """Scores for a batch (``forward``) and their decoding, under ``config``'s labels.

    Subclasses set ``config`` and ``crf``; decoding, the calibration temperatures included, is
    shared, so a single network and an ensemble give answers of the same kind.
    """

    config: ModelConfig
    crf: CRF | None

    @torch.inference_mode()
    def decode(self, output: TaggerOutput, mask: torch.Tensor) -> Decoded:
        """Best tags (Viterbi with the CRF, argmax without) and their marginal probabilities, and
        the intent; probabilities use the config's calibration temperatures."""
        if output.emissions.shape[0] == 1:
            return self._decode_one(output)
        if self.crf is None or self.crf.decodes_with_numpy(output.emissions):
            return self._decode_in_numpy(output, mask)
        # A CRF batch too large for NumPy: its (B, K, K) steps in torch, on the batch's device.
        paths, tag_probs = self.crf.best_paths(output.emissions.float(), mask, self.config.slot_temperature)
        return Decoded(paths, tag_probs, *self._intents_in_numpy(output))

    def _decode_one(self, output: TaggerOutput) -> Decoded:
        """``decode`` for one utterance, in float64 NumPy: a chatbot's message is a few dozen
        numbers, where each torch operation's dispatch would cost more than its arithmetic."""
        emissions = output.emissions[0].detach().to("cpu", torch.float64).numpy()  # (T, K)
        temperature = self.config.slot_temperature
        if self.crf is not None:
            path, tag_probs = crf_decode.decode_one(emissions, self.crf.decode_tables(temperature))
        else:
            probs = _softmax(emissions / temperature)
            path = probs.argmax(1).tolist()
            tag_probs = probs.max(1).tolist()
        return Decoded([path], [tag_probs], *self._intents_in_numpy(output))

    def _decode_in_numpy(self, output: TaggerOutput, mask: torch.Tensor) -> Decoded:
        """``decode`` of a batch in float64 NumPy, as ``_decode_one``: moved out of torch once.

        Besides each operation's dispatch, every torch call releases and retakes the interpreter
        lock, and in a server whose event loop holds it, each retake waits: under overload the
        model thread's calls took several times longer than their arithmetic.
        """
        emissions = output.emissions.detach().to("cpu", torch.float64).numpy()  # (B, T, K)
        lengths = mask.sum(1).cpu().numpy()
        temperature = self.config.slot_temperature
        if self.crf is not None:
            paths, tag_probs = self.crf.best_paths_in_numpy(emissions, lengths, temperature)
        else:
            probs = _softmax(emissions / temperature)
            paths = [row[:n] for row, n in zip(probs.argmax(2).tolist(), lengths.tolist(), strict=True)]
            tag_probs = [row[:n] for row, n in zip(probs.max(2).tolist(), lengths.tolist(), strict=True)]
        return Decoded(paths, tag_probs, *self._intents_in_numpy(output))

    def _intents_in_numpy(self, output: TaggerOutput) -> tuple[list[int] | None, list[float] | None]:
        """Each row's intent and its probability, at the intent temperature; None without intents."""
        if output.intent_logits is None:
            return None, None
        logits = output.intent_logits.detach().to("cpu", torch.float64).numpy()
        probs = _softmax(logits / self.config.intent_temperature)
        return probs.argmax(1).tolist(), probs.max(1).tolist()

    def round_to_storage(self) -> None:
        """Round the weights to ``config.weights_dtype``, the precision the model folder keeps,
        so that the scores measured before saving are those of the saved model."""
        dtype = getattr(torch, self.config.weights_dtype)
        with torch.no_grad():
            for tensor in self.state_dict().values():
                if tensor.is_floating_point():
                    tensor.copy_(tensor.to(dtype))


class SlotTagger(Tagger):
    """One network: embedder, recurrent encoder, slot head (+ CRF) and intent head."""

    def __init__(self, config: ModelConfig, sizes: Mapping[str, int]) -> None:
        """``sizes``: each encoder's number of ids (``Featurizer.sizes``)."""
        super().__init__()
        if config.members != 1:
            raise ValueError(f"a SlotTagger is one network; {config.members} members make a TaggerEnsemble")
        self.config = config
        self.embedder = TokenEmbedder(config, sizes)
        self.input_dropout = nn.Dropout(config.dropout)
        self.encoder = RecurrentEncoder(
            config.cell,
            self.embedder.output_dim,
            config.hidden_size,
            config.num_layers,
            config.bidirectional,
            config.dropout,
            config,
        )
        self.output_dropout = nn.Dropout(config.dropout)
        self.slot_head = nn.Linear(self.encoder.output_dim, len(config.slot_tags))
        self.crf = CRF(config.slot_tags) if config.crf else None
        self.intent_head = (
            IntentHead(
                self.encoder.output_dim,
                config.intents,
                config.intent_pooling,
                config.intent_separator,
                config.intent_token_votes,
            )
            if config.intents
            else None
        )

    def forward(
        self,
        batch: Batch,
        tags: torch.Tensor | None = None,
        intents: torch.Tensor | None = None,
        intent_weight: float = 1.0,
        intent_smoothing: float = 0.0,
    ) -> TaggerOutput:
        """Scores, and with gold ``tags`` the loss: slot loss + ``intent_weight`` * intent loss.

        The slot loss is a mean over tokens and the utterance part of the intent loss a mean over
        utterances, so at weight 1 an utterance's intent pulls on the shared encoder as hard as one
        of its tags (11 on average in ATIS, 9 in SNIPS); token votes add a mean over words, which
        pulls at every word as its tag does (``IntentHead.loss``). ``intent_smoothing`` is the
        intent targets' label smoothing.
        """
        mask = batch.mask
        states = self.encoder(self.input_dropout(self.embedder(batch)), batch.lengths)  # (B, T, H)
        states = self.output_dropout(states)
        emissions = self.slot_head(states)  # (B, T, K)
        loss = self._slot_loss(emissions.float(), tags, mask) if tags is not None else None
        if self.intent_head is None:
            return TaggerOutput(emissions, None, loss)
        scores = self.intent_head(states, mask)
        if loss is not None and intents is not None:
            loss = loss + intent_weight * self.intent_head.loss(scores, intents, mask, intent_smoothing)
        return TaggerOutput(emissions, scores.logits, loss)

    def _slot_loss(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.crf is not None:
            # Mean NLL per token keeps the loss scale comparable to the softmax variant.
            return self.crf.nll(emissions, tags, mask).sum() / mask.sum()
        return F.cross_entropy(emissions[mask], tags[mask])
