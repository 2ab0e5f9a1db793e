"""Temperature scaling (Guo et al., 2017): fit on dev so that confidences read as probabilities.

Networks come out of training overconfident: on held-out SNIPS training data, the default model's
slots given 0.6-0.7 were right 45% of the time (BENCHMARKS.md). One number per head mends most of
it: every score is divided by a temperature T before it becomes a probability, with T chosen to
minimise the negative log-likelihood of dev's gold labels. Dividing all scores by the same positive
T keeps the best path the best and the top intent on top, so no prediction changes, only the
confidences. With a CRF the whole path score is divided (emissions, transition, start and end
scores); without one, each token's softmax.

The NLL is convex in 1/T, so a golden-section search over log T finds its minimum, kept within
``BOUNDS``. It is evaluated in float64 on the CPU: the curve is flat near its bottom, where the
rounding of a float32 sum (which differs with the machine's BLAS and vector kernels) moved the
fitted T in its third digit. When every dev answer is right the NLL falls forever as T shrinks
and says nothing about calibration, and a small dev set says little: the temperature then stays 1.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from slotfill.model.batch import Featurizer, collate
from slotfill.model.tagger import Tagger, TaggerOutput
from slotfill.training.data import Example

BOUNDS = (0.25, 4.0)
STEPS = 30  # golden-section steps: the bracket shrinks to 0.618**30 of its width, well under 1e-5
_BATCH = 256
# Fewer scored dev utterances than this leave a temperature at 1: a few answers would set it by
# chance (on 6 utterances with 2 confident mistakes, the intent temperature ran to the upper bound).
MIN_UTTERANCES = 50


@dataclass(frozen=True)
class Temperatures:
    slot: float = 1.0
    intent: float = 1.0


def golden_minimum(function: Callable[[float], float], low: float, high: float, steps: int = STEPS) -> float:
    """Where a unimodal ``function`` of a temperature is least, searched on a log scale.

    >>> round(golden_minimum(lambda t: (math.log(t) - math.log(1.5)) ** 2, 0.25, 4.0), 4)
    1.5
    """
    ratio = (math.sqrt(5) - 1) / 2
    a, b = math.log(low), math.log(high)
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = function(math.exp(c)), function(math.exp(d))
    for _ in range(steps):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = function(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = function(math.exp(d))
    return math.exp((a + b) / 2)


@dataclass(frozen=True)
class _Scored:
    """Dev's scores from one pass of the network, in batches, with the gold labels as ids."""

    utterances: int  # those with every gold tag known to the model
    emissions: list[torch.Tensor]  # (B, T, K) each
    masks: list[torch.Tensor]
    tags: list[torch.Tensor]
    intent_logits: torch.Tensor | None  # (N, I) over the utterances with a known intent
    intents: torch.Tensor | None


def _score(model: Tagger, featurizer: Featurizer, dev: Sequence[Example], device: torch.device) -> _Scored:
    tag_index = {tag: i for i, tag in enumerate(model.config.slot_tags)}
    intent_index = {intent: i for i, intent in enumerate(model.config.intents)}
    # Gold labels the model has no id for can't be scored: leave those utterances out.
    usable = [e for e in dev if all(tag in tag_index for tag in e.tags)]
    emissions: list[torch.Tensor] = []
    masks: list[torch.Tensor] = []
    tags: list[torch.Tensor] = []
    logits: list[torch.Tensor] = []
    intents: list[int] = []
    model.eval()
    with torch.no_grad():
        for begin in range(0, len(usable), _BATCH):
            chunk = usable[begin : begin + _BATCH]
            batch = collate([featurizer.featurize(e.tokens) for e in chunk]).to(device)
            output = model(batch)
            gold = torch.zeros(batch.mask.shape, dtype=torch.long)
            for row, example in enumerate(chunk):
                gold[row, : len(example.tags)] = torch.tensor([tag_index[t] for t in example.tags])
            emissions.append(output.emissions.float())
            masks.append(batch.mask)
            tags.append(gold.to(device))
            if output.intent_logits is not None:
                known = [i for i, e in enumerate(chunk) if e.intent in intent_index]
                logits.append(output.intent_logits.float()[known])
                intents.extend(intent_index[chunk[i].intent or ""] for i in known)
    return _Scored(
        len(usable),
        emissions,
        masks,
        tags,
        torch.cat(logits) if logits else None,
        torch.tensor(intents, device=device) if logits else None,
    )


def _slot_nll(model: Tagger, scored: _Scored) -> Callable[[float], float]:
    """Dev's slot NLL as a function of the temperature, in float64 on the CPU (see the module doc)."""
    cpu = torch.device("cpu")
    crf = copy.deepcopy(model.crf).to(cpu, torch.float64) if model.crf is not None else None
    batches = [
        (emissions.to(cpu, torch.float64), mask.cpu(), tags.cpu())
        for emissions, mask, tags in zip(scored.emissions, scored.masks, scored.tags, strict=True)
    ]

    def nll(temperature: float) -> float:
        total = 0.0
        with torch.no_grad():
            for emissions, mask, tags in batches:
                if crf is not None:
                    total += float(crf.nll(emissions, tags, mask, temperature).sum())
                else:
                    scores = emissions[mask] / temperature
                    total += float(F.cross_entropy(scores, tags[mask], reduction="sum"))
        return total

    return nll


def _slots_all_right(model: Tagger, scored: _Scored) -> bool:
    for emissions, mask, tags in zip(scored.emissions, scored.masks, scored.tags, strict=True):
        decoded = model.decode(TaggerOutput(emissions, None), mask)
        for row, path in enumerate(decoded.tags):
            if path != tags[row, : len(path)].tolist():
                return False
    return True


def intent_temperature(logits: torch.Tensor, gold: torch.Tensor) -> float:
    """The temperature that minimises the NLL of the ``gold`` intent ids under ``logits`` (N, I)."""
    if not len(gold) or bool((logits.argmax(1) == gold).all()):
        return 1.0
    logits, gold = logits.to("cpu", torch.float64), gold.cpu()  # float64: see the module doc
    return golden_minimum(lambda t: float(F.cross_entropy(logits / t, gold, reduction="sum")), *BOUNDS)


def fit_temperatures(
    model: Tagger,
    featurizer: Featurizer,
    dev: Sequence[Example],
    device: torch.device,
    minimum: int = MIN_UTTERANCES,
) -> Temperatures:
    """The slot and intent temperatures that minimise dev's NLL.

    Each stays 1 when dev gives no evidence: fewer than ``minimum`` utterances with labels the
    model knows (a handful of answers would set the temperature by chance), or no wrong answer.
    """
    scored = _score(model, featurizer, dev, device)
    slot = 1.0
    if scored.utterances >= minimum and not _slots_all_right(model, scored):
        slot = golden_minimum(_slot_nll(model, scored), *BOUNDS)
    intent = 1.0
    logits, gold = scored.intent_logits, scored.intents
    if logits is not None and gold is not None and len(gold) >= minimum:
        intent = intent_temperature(logits, gold)
    return Temperatures(slot, intent)
