"""A model folder's description of itself, typed: the service reads fields, not dict keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelMetadata:
    """What a model folder says about itself beyond the network: who it is and how it was made.

    ``digest`` is the SHA-256 of the weights file, so two folders with the same digest serve the
    same model; ``training`` and ``metrics`` are as ``slotfill train`` wrote them.
    """

    id: str = "unknown"  # the folder's name
    digest: str = ""
    created: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The short digest the API reports as the model's version."""
        return self.digest[:12] or "unknown"
