"""Distillation: one network trained to answer as the members averaged do.

Why: two networks averaged are more accurate than one (BENCHMARKS.md, "Two networks averaged"),
but every request then runs both, 1.6 times the cost of one. A student of the members' size,
trained on their averaged answers beside the gold labels (``training.teacher``), keeps what it can
of the pair's accuracy at one network's cost; the model folder holds the student alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from slotfill.model.batch import Featurizer
from slotfill.model.ensemble import member_config
from slotfill.model.tagger import SlotTagger, Tagger
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.seeding import seed_everything
from slotfill.training.teacher import Teacher
from slotfill.training.trainer import FitResult, fit

logger = logging.getLogger(__name__)

STUDENT = "student"


def distil(
    teacher: Tagger,
    featurizer: Featurizer,
    train: Sequence[Example],
    dev: Sequence[Example],
    settings: TrainConfig,
    device: torch.device,
    *,
    log_path: Path | None = None,
    progress: bool = True,
) -> tuple[SlotTagger, FitResult]:
    """Train one network of the teacher's member shape on its answers mixed with the gold labels
    (``settings.distill``: the answers' share), with the first member's seed and the same recipe,
    so that it differs from that member only in what it learns from."""
    logger.info(
        "distilling the %d members into one network (soft targets' share %.2f)",
        teacher.config.members,
        settings.distill,
    )
    seed_everything(settings.seed)
    student = SlotTagger(member_config(teacher.config), featurizer.sizes)
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
    return student, result
