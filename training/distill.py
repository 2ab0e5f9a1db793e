"""Distillation: one network trained to answer as the members averaged do.

Why: two networks averaged are more accurate than one (BENCHMARKS.md, "Two networks averaged"),
but every request then runs both, 1.6 times the cost of one. A student of the members' size,
trained on their averaged answers beside the gold labels (``training.teacher``), keeps what it can
of the pair's accuracy at one network's cost; the model folder holds the student alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from slotfill.model.batch import Featurizer
from slotfill.model.ensemble import member_config
from slotfill.model.predictor import Predictor
from slotfill.model.tagger import SlotTagger, Tagger
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.seeding import seed_everything
from slotfill.training.teacher import Teacher
from slotfill.training.trainer import FitResult, evaluate_examples, fit

logger = logging.getLogger(__name__)

STUDENT = "student"


@dataclass(frozen=True)
class Distilled:
    """What the distillation step leaves: the model to keep and how it came about."""

    model: Tagger  # the student; the members averaged when Ctrl-C came before its first epoch
    student: FitResult | None
    teacher: dict[str, dict[str, float | None]]  # what the members averaged scored, per split
    interrupted: bool


def distil(
    teacher: Tagger,
    featurizer: Featurizer,
    train: Sequence[Example],
    dev: Sequence[Example],
    settings: TrainConfig,
    device: torch.device,
    *,
    scored: Mapping[str, Sequence[Example]],
    log_path: Path | None = None,
    progress: bool = True,
) -> Distilled:
    """Train one network of the teacher's member shape on its answers mixed with the gold labels
    (``settings.distill``: the answers' share), with the first member's seed and the same recipe,
    so that it differs from that member only in what it learns from.

    The teacher is first scored on each of ``scored``'s splits, so the folder says what
    distilling kept. Ctrl-C before the student's first epoch keeps the teacher, and after it the
    student's best epoch so far (``fit``).
    """
    predictor = Predictor(teacher, featurizer, device)
    scores = {
        name: evaluate_examples(predictor, examples).headline()
        for name, examples in scored.items()
        if examples
    }
    logger.info(
        "distilling the %d members into one network (soft targets' share %.2f)",
        teacher.config.members,
        settings.distill,
    )
    seed_everything(settings.seed)
    student = SlotTagger(member_config(teacher.config), featurizer.sizes)
    try:
        result = fit(
            student,
            featurizer,
            train,
            dev,
            settings,
            device,
            log_path=log_path,
            progress=progress,
            label=STUDENT,
            member=STUDENT,
            teacher=Teacher(teacher, settings.distill, settings.intent_weight),
        )
    except KeyboardInterrupt:
        logger.warning("interrupted before the student's first epoch: keeping the members averaged")
        return Distilled(teacher, None, {}, interrupted=True)
    return Distilled(student, result, scores, result.interrupted)
