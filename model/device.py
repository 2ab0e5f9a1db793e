"""Resolving the ``--device`` setting: ``auto`` takes CUDA when it is there."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported when a device is resolved, not by ``slotfill --help``
    import torch

DEVICES = ("auto", "cpu", "cuda")


def check_device_name(name: str) -> str:
    """The name itself, if it names a device (whether this machine has it is another question).

    >>> check_device_name("cuda:1")
    'cuda:1'
    """
    if name not in DEVICES and not name.startswith("cuda:"):
        raise ValueError(f"device must be one of {DEVICES} (or cuda:N), got {name!r}")
    return name


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available else cpu; ``cuda`` without CUDA is a clear error."""
    import torch

    check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available on this machine")
    return torch.device(name)
