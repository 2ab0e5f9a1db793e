"""``bench/benchmarks_md.py``: the shared helpers every benchmark writes BENCHMARKS.md with."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from benchmarks_md import command_line, replace_section


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["--threads", "1", "--out", "runs/peers", "--write"], "python bench/x.py --threads 1 --write"),
        (["--out=runs/peers"], "python bench/x.py"),
        ([], "python bench/x.py"),
    ],
)
def test_the_command_never_shows_where_the_run_wrote(argv: list[str], shown: str) -> None:
    assert command_line("bench/x.py", argv) == shown


def test_a_section_is_replaced_between_its_markers_and_others_kept(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    replace_section(
        path, "<!-- a:start -->", "<!-- a:end -->", "## A", "<!-- a:start -->\none\n<!-- a:end -->"
    )
    replace_section(
        path, "<!-- b:start -->", "<!-- b:end -->", "## B", "<!-- b:start -->\nbee\n<!-- b:end -->"
    )
    replace_section(
        path, "<!-- a:start -->", "<!-- a:end -->", "## A", "<!-- a:start -->\ntwo\n<!-- a:end -->"
    )
    text = path.read_text()
    assert "two" in text and "one" not in text and "bee" in text
    assert text.count("## A") == 1 and text.index("## A") < text.index("## B")
