"""``slotfill`` itself: help without torch, and no import cycle between its two halves."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from slotfill.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("torch" in sys.modules)
"""


@pytest.mark.parametrize(
    "argv", [["--help"], ["serve", "-h"], ["train", "-h"], ["evaluate", "-h"], ["tag", "-h"]]
)
def test_help_answers_without_importing_torch(argv: list[str]) -> None:
    shown = subprocess.run([sys.executable, "-c", PROBE, *argv], check=True, capture_output=True, text=True)
    assert "usage: slotfill" in shown.stdout
    assert shown.stdout.splitlines()[-1] == "False"


@pytest.mark.parametrize(
    ("module", "other"),
    [("slotfill.service.cli", "slotfill.training"), ("slotfill.training.commands", "slotfill.service")],
)
def test_each_side_of_the_cli_stands_without_the_other(module: str, other: str) -> None:
    probe = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('{other}')))"
    shown = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert shown.stdout.strip() == "[]"


def test_train_flags_come_from_the_settings_with_their_help() -> None:
    from slotfill.cli import build_parser
    from slotfill.model.config import ModelOptions
    from slotfill.training.config import TrainConfig

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    train = commands.choices["train"]  # type: ignore[attr-defined]
    helps = {option: action.help for action in train._actions for option in action.option_strings}
    for name, field in {**ModelOptions.model_fields, **TrainConfig.model_fields}.items():
        flag = "--" + name.replace("_", "-")
        assert flag in helps, flag
        assert field.description and field.description.split()[0] in str(helps[flag]), flag
    assert "--no-crf" in helps and "--no-calibrate" in helps and "--no-bidirectional" in helps
