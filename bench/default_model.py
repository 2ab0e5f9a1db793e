"""The bundled default model, judged on requests written by people: ATIS test, never trained on.

ATIS's 80-odd slot types are collapsed to the product's three with ``bench/atis_to_travel.json``
(``fromloc.*`` -> departure, ``toloc.*`` -> dest, every date/time/day/month slot -> time, the rest O,
adjacent time pieces merged into one span), and the model is scored with the conlleval-exact scorer.
ATIS intents are not the travel corpus's intents, so only slots are scored.

A second figure also merges adjacent departure and dest pieces: ATIS splits "san diego california"
into a city and a state span, where the travel corpus (and a chatbot) treats it as one place. The
third applies the rest of the product's span conventions (``training/travel/times.py``) to ATIS's
time spans as well: "between [4] and [5 pm]" is one span "between 4 and 5 pm", "[9] in the
[morning]" is "9 in the morning", a day of the month said alone keeps its article ("on [the
twentieth]"), and time pieces that then touch are one span.

The model is built exactly as ``make run`` builds it (``slotfill build-default``, in its own process,
timed from outside), unless ``--model`` names an existing one. Results go into BENCHMARKS.md between
the ``default`` markers.

    python bench/default_model.py
    python bench/default_model.py --model models/default --no-write
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accuracy import folder_size, machine  # noqa: E402
from benchmarks_md import command_line, replace_section  # noqa: E402

from slotfill.model.predictor import Predictor  # noqa: E402
from slotfill.model.spans import Span, spans_to_tags, tags_to_spans  # noqa: E402
from slotfill.training.data import Example  # noqa: E402
from slotfill.training.formats import read_split  # noqa: E402
from slotfill.training.labelmap import LabelMap  # noqa: E402
from slotfill.training.trainer import evaluate_examples  # noqa: E402

ATIS = ROOT.parent / "shared" / "datasets" / "atis"
LABEL_MAP = ROOT / "bench" / "atis_to_travel.json"
BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- default:start -->", "<!-- default:end -->"
SLOTS = ("departure", "dest", "time")

logger = logging.getLogger("bench.default_model")


def build(out: Path) -> float:
    """``slotfill build-default --force`` into ``out``; returns its wall time (corpus + training)."""
    begun = time.perf_counter()
    subprocess.run(
        [
            sys.executable, "-m", "slotfill", "build-default", "--force", "--quiet",
            "--out", str(out / "model"), "--data", str(out / "data"), "--device", "cpu",
        ],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    return time.perf_counter() - begun


def atis_scores(
    predictor: Predictor, merge_places: bool, conventions: bool = False, split: str = "test"
) -> dict[str, Any]:
    spec = json.loads(LABEL_MAP.read_text())
    merge = [*spec["merge_adjacent"], *(("departure", "dest") if merge_places else ())]
    label_map = LabelMap(spec["rules"], merge_adjacent=merge)
    examples = [
        dataclasses.replace(example, intent=None)
        for example in label_map.apply_all(read_split(ATIS, split, "jointbert"))
    ]
    if conventions:
        examples = [follow_time_conventions(example) for example in examples]
    return evaluate_examples(predictor, examples).to_dict()


_PERIODS = frozenset(("morning", "afternoon", "evening", "night"))
_DAY_ALONE = re.compile(r"\d{1,2}(?:st|nd|rd|th)|\w+(?:first|second|third|th)")


def follow_time_conventions(example: Example) -> Example:
    """ATIS's collapsed time spans as the product writes them (``training/travel/times.py``).

    >>> tokens = "flights between 4 and 5 pm on the twentieth in the morning".split()
    >>> tags = "O O B-time O B-time I-time O O B-time O O B-time".split()
    >>> follow_time_conventions(Example(tuple(tokens), tuple(tags))).tags[1:]
    ('B-time', 'I-time', 'I-time', 'I-time', 'I-time', 'O', 'B-time', 'I-time', 'I-time', 'I-time', 'I-time')
    """
    tokens = [t.casefold() for t in example.tokens]
    spans = [[s.label, s.start, s.end] for s in tags_to_spans(example.tags)]
    times = [s for s in spans if s[0] == "time"]
    for span in times:
        word = tokens[span[1]] if span[2] - span[1] == 1 else ""
        follows = tokens[span[2]] if span[2] < len(tokens) else ""
        if span[1] > 0 and tokens[span[1] - 1] == "the" and _DAY_ALONE.fullmatch(word) and follows != "of":
            span[1] -= 1  # "on the twentieth": the day alone keeps its article
    for first, second in itertools.pairwise(times):
        between = tokens[first[2] : second[1]]
        if between == ["and"] and first[1] > 0 and tokens[first[1] - 1] == "between":
            first[1] -= 1  # "between 4 and 5 pm": one range
        elif between == ["in", "the"] and tokens[second[1]] in _PERIODS:
            pass  # "9 in the morning": one time
        else:
            continue
        second[1] = first[1]
        first[2] = first[1]  # emptied; the second span now covers both
    kept = sorted((s for s in spans if s[2] > s[1]), key=lambda s: s[1])
    joined: list[list[Any]] = []
    for span in kept:
        if joined and span[0] == joined[-1][0] == "time" and span[1] == joined[-1][2]:
            joined[-1][2] = span[2]
        else:
            joined.append(span)
    tags = spans_to_tags([Span(label, start, end) for label, start, end in joined], len(tokens))
    return dataclasses.replace(example, tags=tuple(tags))


def pct(value: float) -> str:
    return f"{100 * value:.2f}"


def render(results: dict[str, Any], argv: list[str]) -> str:
    atis, merged, metrics = results["atis"], results["atis_places_merged"], results["metrics"]
    rows = [
        "| | slot F1 | precision | recall | departure F1 | dest F1 | time F1 | sentence |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def row(label: str, scores: dict[str, Any], bold: bool) -> str:
        per = scores["per_slot"]
        f1 = f"**{pct(scores['slot_f1'])}**" if bold else pct(scores["slot_f1"])
        cells = [f1, pct(scores["slot_precision"]), pct(scores["slot_recall"])]
        cells += [pct(per[s]["f1"]) if s in per else "-" for s in SLOTS]
        return f"| {label} | " + " | ".join([*cells, pct(scores["sentence_accuracy"])]) + " |"

    rows += [
        row("ATIS test, 3 slots (the issue's measure)", atis, bold=True),
        row("ATIS test, adjacent place pieces merged too", merged, bold=True),
        row(
            "ATIS test, places merged and the product's time conventions",
            results["atis_conventions"],
            bold=True,
        ),
        row("generated test (seen places)", metrics["test"], bold=False),
        row("generated, held-out places", metrics["unseen"], bold=False),
    ]
    built = (
        f"`slotfill build-default` took {results['build_seconds']:.0f} s wall "
        f"({metrics['train_seconds']:.0f} s of it training, {metrics['epochs_run']} epochs over "
        f"{metrics['data']['train']:,} generated utterances)"
        if results["build_seconds"] is not None
        else "model given with `--model`, build time not measured"
    )
    return "\n".join(
        [
            START,
            f"Command: `{command_line('bench/default_model.py', argv)}`  ",
            f"Date: {datetime.now(UTC):%Y-%m-%d}; machine: {machine()}  ",
            f"{built}; model folder {results['model_bytes'] / 1e6:.1f} MB; "
            f"ATIS test: {atis['utterances']} utterances, never seen in training; "
            f"generated test and unseen: intent accuracy {pct(metrics['test']['intent_accuracy'])} / "
            f"{pct(metrics['unseen']['intent_accuracy'])}.",
            "",
            *rows,
            END,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="score this model folder instead of building one")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not ATIS.is_dir():
        parser.error(f"ATIS not found at {ATIS}")
    with tempfile.TemporaryDirectory(prefix="slotfill-default-") as scratch:
        build_seconds = None
        model = args.model
        if model is None:
            build_seconds = build(Path(scratch))
            model = Path(scratch) / "model"
        predictor = Predictor.load(model, device="cpu")
        results = {
            "build_seconds": build_seconds,
            "model_bytes": folder_size(model),
            "metrics": json.loads((model / "metrics.json").read_text()),
            "atis": atis_scores(predictor, merge_places=False),
            "atis_places_merged": atis_scores(predictor, merge_places=True),
            "atis_conventions": atis_scores(predictor, merge_places=True, conventions=True),
        }
    block = render(results, argv)
    if not args.no_write:
        replace_section(BENCHMARKS, START, END, "## The default model (`bench/default_model.py`)", block)
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
