"""The ``--device`` setting: ``auto`` picks CUDA when present; anything else unknown is refused."""

from __future__ import annotations

import pytest
import torch

from slotfill.model.device import resolve_device


def test_cpu_and_auto() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("name", ["gpu", "CPU", "tpu", "", "cuda0"])
def test_unknown_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_clear_error(name: str) -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device(name)
