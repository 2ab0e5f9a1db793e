"""One script's section of BENCHMARKS.md, replaced between its markers; other sections untouched."""

from __future__ import annotations

import shlex
from pathlib import Path


def command_line(script: str, argv: list[str]) -> str:
    """The command as BENCHMARKS.md shows it: ``--out DIR`` (where this run put its files, a path of
    this machine) is left out, since it changes nothing in the figures.

    >>> command_line("bench/peers.py", ["--threads", "1", "--out", "runs/peers", "--write"])
    'python bench/peers.py --threads 1 --write'

    Arguments are quoted as a shell needs them, so the line can be pasted as it is:

    >>> command_line("bench/ablation.py", ["--variants", "default=", "gru=--cell gru"])
    "python bench/ablation.py --variants default= 'gru=--cell gru'"
    """
    shown: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif not arg.startswith("--out="):
            shown.append(arg)
    return shlex.join(["python", script, *shown])


def replace_section(path: Path, start: str, end: str, heading: str, block: str) -> None:
    """Put ``block`` (which begins with ``start`` and ends with ``end``) in place of the old one;
    a new block goes at the end of the ``heading`` section (a second dataset's table joins the
    first's), or under a new ``heading`` at the end of the file."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    elif f"\n{heading}\n" in text:
        following = text.find("\n## ", text.index(f"\n{heading}\n") + 1)
        following = len(text) if following == -1 else following
        text = text[:following].rstrip() + "\n\n" + block + "\n" + text[following:]
    else:
        text = text.rstrip() + f"\n\n{heading}\n\n" + block + "\n"
    path.write_text(text)
