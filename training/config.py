"""How a tagger is trained: one typed, validated setting object.

Like ``model.config.ModelOptions``, the docstring under each field is also the help of its
``slotfill train`` flag (``training.flags``). Nothing here imports torch, so ``slotfill --help``
stays quick.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator

from slotfill.model.config import Settings
from slotfill.model.device import check_device_name

Schedule = Literal["constant", "cosine"]
SCHEDULES: tuple[Schedule, ...] = get_args(Schedule)

Count = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Decay = Annotated[float, Field(ge=0.0, lt=1.0)]


class TrainConfig(Settings):
    """Optimisation settings; the defaults are the ones BENCHMARKS.md reports."""

    epochs: Count = 40
    """epochs at most"""
    batch_size: Count = 32
    """utterances per step"""
    lr: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 2e-3
    """AdamW learning rate"""
    weight_decay: NonNegative = 0.01
    """AdamW weight decay"""
    clip_norm: NonNegative = 5.0
    """gradient clipping, the remedy for exploding gradients: the global norm is scaled down to
    this (0 turns it off)"""
    patience: Count = 10
    """stop after this many epochs without a better dev slot F1"""
    schedule: Schedule = "cosine"
    """learning-rate schedule: cosine anneals to 0 over --epochs, constant keeps it"""
    slot_swap: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    """share of training utterances whose slot values are swapped, each epoch, for values of the
    same slot from other utterances of the same intent (0 turns it off)"""
    intent_weight: NonNegative = 1.0
    """weight of the intent loss beside the slot loss, which is averaged per token"""
    intent_smoothing: Decay = 0.0
    """label smoothing of the intent targets (0: plain cross-entropy)"""
    ema: Decay = 0.0
    """decay of a moving average of the weights, updated every step and scored and saved in
    their place (0: off)"""
    calibrate: bool = True
    """fit slot and intent temperatures on dev after training so that confidences read as
    probabilities (--no-calibrate keeps them as trained; predictions are the same either way)"""
    onnx: bool = True
    """also write the network as an ONNX graph (model.onnx), which serve, predict and tag run
    through ONNX Runtime on the CPU, two to three times faster than torch per text (--no-onnx:
    torch only; the cells without a fused kernel, jordan, lstm-peephole, clockwork and scrn, are
    never exported)"""
    members: Count = 1
    """networks trained with seeds seed, seed+1, ... whose scores are averaged: 2 gained 0.5 slot
    F1 on SNIPS and nothing on ATIS, but every answer then costs 1.6 times one network's time
    (1: a single network)"""
    distill: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    """with two or more --members: then train one network of the same size on the members'
    averaged tag marginals and intent probabilities, mixed with the gold labels at this share,
    and save it in their place, so the model answers at one network's cost (0: save the members
    averaged)"""
    jobs: Annotated[int, Field(ge=0)] = 0
    """members trained at once, one process each (0: one per core torch may use)"""
    seed: int = 13
    """random seed of the first member"""
    device: str = "auto"
    """auto (CUDA when available), cpu, cuda or cuda:N"""

    _known_device = field_validator("device")(check_device_name)
