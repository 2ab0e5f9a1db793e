"""What a prediction looks like: the shapes the CLI, the service and JSONL annotations share."""

from __future__ import annotations

from dataclasses import dataclass, field

from slotfill.model.tokenize import Token


@dataclass(frozen=True, slots=True)
class SlotValue:
    """A filled slot: ``text[start:end] == value`` in the original text."""

    slot: str
    value: str
    start: int
    end: int
    confidence: float


@dataclass(frozen=True, slots=True)
class IntentValue:
    intent: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Tagging:
    """The model's reading of one token list: a tag and its probability per token, and intent."""

    tags: list[str]
    confidences: list[float]
    intent: IntentValue | None = None


@dataclass(frozen=True, slots=True)
class Parse:
    """The full answer for one text."""

    text: str
    tokens: list[Token]
    tags: list[str]
    slots: list[SlotValue] = field(default_factory=list)
    intent: IntentValue | None = None
