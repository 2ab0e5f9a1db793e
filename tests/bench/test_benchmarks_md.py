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
        (
            ["--variants", "default=", "2 layers=--num-layers 2"],
            "python bench/x.py --variants default= '2 layers=--num-layers 2'",
        ),
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


def test_a_second_block_under_a_heading_joins_its_section(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    for name, heading in (("a1", "## A"), ("b", "## B"), ("a2", "## A"), ("b2", "## B")):
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        replace_section(path, start, end, heading, f"{start}\n{name} table\n{end}")
    text = path.read_text()
    assert text.count("## A") == 1 and text.count("## B") == 1
    order = ["## A", "a1 table", "a2 table", "## B", "b table", "b2 table"]
    assert [text.index(marker) for marker in order] == sorted(text.index(marker) for marker in order)
    assert "a1:end -->\n\n<!-- a2:start" in text and "a2:end -->\n\n## B" in text
