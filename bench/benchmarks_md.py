"""One script's section of BENCHMARKS.md, replaced between its markers; other sections untouched."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, start: str, end: str, heading: str, block: str) -> None:
    """Put ``block`` (which begins with ``start`` and ends with ``end``) in place of the old one,
    or append it under ``heading`` when the file has no such section yet."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + f"\n\n{heading}\n\n" + block + "\n"
    path.write_text(text)
