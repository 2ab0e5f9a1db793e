"""The training loop: AdamW, gradient clipping, early stopping on dev slot F1, best state kept."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from slotfill.model.batch import Batch, Features, Featurizer, collate
from slotfill.model.predictor import Predictor
from slotfill.model.tagger import SlotTagger, TaggerOutput
from slotfill.training.augment import SlotSwapper
from slotfill.training.batching import bucketed_batches
from slotfill.training.calibration import calibration, slot_answers
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.metrics import Scores, score
from slotfill.training.seeding import seed_everything
from slotfill.training.teacher import Teacher

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpochLog:
    epoch: int
    train_loss: float
    grad_norm: float  # mean global norm before clipping: above clip_norm means clipping acted
    dev_slot_f1: float
    dev_intent_accuracy: float | None
    dev_sentence_accuracy: float
    seconds: float


@dataclass(frozen=True)
class FitResult:
    best_epoch: int
    best_dev: Scores
    history: list[EpochLog]
    # Stopped by Ctrl-C after at least one epoch; the model holds the best epoch finished by then.
    interrupted: bool = False


def evaluate_examples(predictor: Predictor, examples: Sequence[Example]) -> Scores:
    """Score a predictor on gold-tokenised examples (tokens are given, not re-tokenised), with
    the calibration of its intent and slot confidences."""
    taggings = predictor.tag([list(e.tokens) for e in examples])
    with_intents = predictor.has_intents and all(e.intent is not None for e in examples)
    gold_tags = [list(e.tags) for e in examples]
    predicted_tags = [t.tags for t in taggings]
    scores = score(
        gold_tags,
        predicted_tags,
        [e.intent or "" for e in examples] if with_intents else None,
        [t.intent.intent if t.intent else "" for t in taggings] if with_intents else None,
    )
    intent_calibration = None
    if with_intents and examples:
        intent_calibration = calibration(
            [t.intent.confidence if t.intent else 0.0 for t in taggings],
            [
                t.intent is not None and t.intent.intent == e.intent
                for t, e in zip(taggings, examples, strict=True)
            ],
        )
    spans, right = slot_answers(gold_tags, predicted_tags, [t.confidences for t in taggings])
    return replace(
        scores,
        intent_calibration=intent_calibration,
        slot_calibration=calibration(spans, right) if spans else None,
    )


class _Encoded:
    """Training examples as features and label ids, computed once."""

    def __init__(
        self,
        model: SlotTagger,
        featurizer: Featurizer,
        examples: Sequence[Example],
        slot_swap: float = 0.0,
        seed: int = 0,
    ) -> None:
        tag_index = {tag: i for i, tag in enumerate(model.config.slot_tags)}
        intent_index = {intent: i for i, intent in enumerate(model.config.intents)}
        self.features: list[Features] = [featurizer.featurize(e.tokens) for e in examples]
        self.tags = [[tag_index[t] for t in e.tags] for e in examples]
        self.intents = [intent_index[e.intent or ""] for e in examples] if intent_index else None
        self.swapper = (
            SlotSwapper(self.features, self.tags, model.config.slot_tags, slot_swap, seed, self.intents)
            if slot_swap > 0
            else None
        )
        self.drawn: list[tuple[Features, list[int]]] = list(zip(self.features, self.tags, strict=True))

    def new_epoch(self) -> list[int]:
        """Draw this epoch's slot swaps; returns the lengths, so batches bucket what they will hold."""
        if self.swapper is not None:
            self.drawn = [self.swapper.draw(i) for i in range(len(self.features))]
        return [len(features) for features, _ in self.drawn]

    def batch(
        self, indices: Sequence[int], device: torch.device
    ) -> tuple[Batch, torch.Tensor, torch.Tensor | None]:
        drawn = [self.drawn[i] for i in indices]
        batch = collate([features for features, _ in drawn]).to(device)
        tags = torch.zeros(batch.mask.shape, dtype=torch.long)
        for row, (_, ids) in enumerate(drawn):
            tags[row, : len(ids)] = torch.tensor(ids)
        intents = None
        if self.intents is not None:
            intents = torch.tensor([self.intents[i] for i in indices], device=device)
        return batch, tags.to(device), intents


def _is_better(new: Scores, old: Scores | None) -> bool:
    if old is None:
        return True
    key_new = (new.slot.f1, new.intent_accuracy or 0.0, new.sentence_accuracy)
    key_old = (old.slot.f1, old.intent_accuracy or 0.0, old.sentence_accuracy)
    return key_new > key_old


class _Stepper:
    """One optimisation step: AdamW, loss scaling on CUDA, gradient clipping, LR schedule, and the
    moving average of the weights when ``config.ema`` asks for one."""

    def __init__(
        self,
        model: SlotTagger,
        config: TrainConfig,
        device: torch.device,
        steps: int,
        teacher: Teacher | None = None,
    ) -> None:
        self.model = model
        self.teacher = teacher
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.amp = device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.clip = config.clip_norm if config.clip_norm > 0 else float("inf")
        self.intent_weight = config.intent_weight
        self.intent_smoothing = config.intent_smoothing
        self.scheduler = None
        if config.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, steps + 1)
        # Parameters only: the buffers are constants (the CRF's -inf penalties would average to NaN).
        self.average = (
            AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema))  # type: ignore[no-untyped-call]
            if config.ema > 0
            else None
        )

    @property
    def scored(self) -> SlotTagger:
        """The weights that dev scores and that are kept: the average when there is one."""
        if self.average is None:
            return self.model
        module = self.average.module
        assert isinstance(module, SlotTagger)
        return module

    def loss(self, batch: Batch, tags: torch.Tensor, intents: torch.Tensor | None) -> torch.Tensor:
        # Mixed precision on CUDA only; the CRF casts its inputs back to float32 itself.
        autocast = torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()
        with autocast:
            output: TaggerOutput = self.model(batch, tags, intents, self.intent_weight, self.intent_smoothing)
        loss = output.loss
        if loss is None:
            raise RuntimeError("the model returned no loss although gold tags were given")
        if self.teacher is not None:
            loss = self.teacher.mix(loss, self.model, output, batch)
        return loss

    def step(self, loss: torch.Tensor) -> float:
        """Back-propagate, clip, update; returns the gradient norm before clipping."""
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self.scaler.unscale_(self.optimizer)
        norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        if self.average is not None:
            self.average.update_parameters(self.model)
        return norm


def _train_epoch(
    stepper: _Stepper, encoded: _Encoded, batches: list[list[int]], device: torch.device
) -> tuple[float, float]:
    """Mean loss and mean gradient norm of one pass over the training data."""
    stepper.model.train()
    total = norms = 0.0
    for indices in batches:
        loss = stepper.loss(*encoded.batch(indices, device))
        norms += stepper.step(loss)
        total += loss.item()
    return total / len(batches), norms / len(batches)


def _log_epoch(
    entry: EpochLog,
    log_path: Path | None,
    on_epoch: Callable[[EpochLog], None] | None,
    member: int | str | None = None,
) -> None:
    logger.debug("epoch %d: %s", entry.epoch, entry)
    if log_path is not None:
        record = asdict(entry) if member is None else {"member": member, **asdict(entry)}
        # One write of one line: members training side by side append to the same log.
        with log_path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
    if on_epoch is not None:
        on_epoch(entry)


def fit(
    model: SlotTagger,
    featurizer: Featurizer,
    train: Sequence[Example],
    dev: Sequence[Example],
    config: TrainConfig,
    device: torch.device,
    *,
    log_path: Path | None = None,
    progress: bool = True,
    on_epoch: Callable[[EpochLog], None] | None = None,
    label: str = "training",
    position: int | None = None,
    member: int | str | None = None,
    stop: Callable[[], bool] | None = None,
    teacher: Teacher | None = None,
) -> FitResult:
    """Train ``model`` in place; on return it holds the weights of its best dev epoch.

    ``label`` and ``position`` name and place the progress bar, and ``member`` marks the log's
    lines, when several members of an ensemble train at once (``training.members``). ``stop``,
    asked after every epoch, ends training as Ctrl-C does: how a member in another process hears
    of the Ctrl-C that its training process got. With a ``teacher``, the loss mixes its answers
    with the gold labels (``training.distill``).

    Ctrl-C (``KeyboardInterrupt``) ends training early once an epoch has finished, with the best
    epoch so far kept and ``FitResult.interrupted`` set; before that it propagates.
    """
    generator = seed_everything(config.seed)
    model.to(device)
    encoded = _Encoded(model, featurizer, train, config.slot_swap, config.seed)
    steps = config.epochs * -(-len(train) // config.batch_size)
    stepper = _Stepper(model, config, device, steps, teacher)
    scored = stepper.scored
    predictor = Predictor(scored, featurizer, device)
    history: list[EpochLog] = []
    best: Scores | None = None
    best_state: dict[str, torch.Tensor] = {}
    best_epoch = 0
    bar = tqdm(range(1, config.epochs + 1), desc=label, unit="epoch", position=position, disable=not progress)
    interrupted = False
    try:
        for epoch in bar:
            started = time.perf_counter()
            batches = bucketed_batches(encoded.new_epoch(), config.batch_size, generator)
            loss, norm = _train_epoch(stepper, encoded, batches, device)
            scored.eval()
            scores = evaluate_examples(predictor, dev)
            entry = EpochLog(
                epoch,
                loss,
                norm,
                scores.slot.f1,
                scores.intent_accuracy,
                scores.sentence_accuracy,
                time.perf_counter() - started,
            )
            history.append(entry)
            _log_epoch(entry, log_path, on_epoch, member)
            if _is_better(scores, best):
                # One statement, so an interrupt cannot pair a new best epoch with old weights.
                best, best_epoch, best_state = scores, epoch, copy.deepcopy(scored.state_dict())
            bar.set_postfix(loss=f"{loss:.3f}", dev_f1=f"{100 * scores.slot.f1:.2f}", best_epoch=best_epoch)
            if epoch - best_epoch >= config.patience:
                logger.info("no dev improvement for %d epochs: stopping at epoch %d", config.patience, epoch)
                break
            if stop is not None and stop():
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        # Ctrl-C: a long run keeps what it has learnt rather than losing it all.
        if best is None:
            raise
        interrupted = True
        logger.warning("interrupted: keeping epoch %d, the best of the %d scored", best_epoch, len(history))
    finally:
        bar.close()
    model.load_state_dict(best_state)
    model.eval()
    assert best is not None
    return FitResult(best_epoch, best, history, interrupted)
