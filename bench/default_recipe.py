"""Choosing the default model's recipe on dev data only: the generated corpus's dev split, ATIS dev
collapsed to the three slots in the product's conventions, and ``sgd_travel_dev``'s real chat turns.

Each variant is the default recipe (``training/travel/default.py``) with some ``slotfill train``
flags changed, trained in this process on the default corpus exactly as ``slotfill build-default``
trains it, and timed. Nothing here reads a test split.

    python bench/default_recipe.py --variants default= 'shape=--encoders word,trigram,shape'
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accuracy import machine  # noqa: E402
from benchmarks_md import command_line, replace_section  # noqa: E402
from default_model import atis_scores  # noqa: E402
from real_turns import DATA as SGD  # noqa: E402
from real_turns import load_turns, score, slotfill_system  # noqa: E402

from slotfill.model.config import ModelOptions  # noqa: E402
from slotfill.model.predictor import Predictor  # noqa: E402
from slotfill.training.config import TrainConfig  # noqa: E402
from slotfill.training.flags import TrainFlags, add_train_flags, read_train_flags  # noqa: E402
from slotfill.training.pipeline import load_corpus, train_model  # noqa: E402
from slotfill.training.travel.corpus import DEFAULT_SEED, DEFAULT_SIZES, write_corpus  # noqa: E402
from slotfill.training.travel.default import MODEL_OPTIONS, TRAINING  # noqa: E402

BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- default-recipe:start -->", "<!-- default-recipe:end -->"
HEADING = "## Choosing the default model's recipe (`bench/default_recipe.py`)"

logger = logging.getLogger("bench.default_recipe")


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    flags: tuple[str, ...]


def parse_variant(text: str) -> Variant:
    """``name=flags``: the default recipe with these ``slotfill train`` flags.

    >>> parse_variant("shape=--encoders word,trigram,shape")
    Variant(name='shape', flags=('--encoders', 'word,trigram,shape'))
    """
    name, _, flags = text.partition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"expected NAME=FLAGS, got {text!r}")
    return Variant(name, tuple(shlex.split(flags)))


def recipe(variant: Variant) -> tuple[ModelOptions, TrainConfig]:
    """The default recipe with the variant's flags applied (and only those)."""
    parser = argparse.ArgumentParser(prog=f"variant {variant.name}")
    source = add_train_flags(parser)
    args = parser.parse_args(variant.flags)
    flags = read_train_flags(source, args)
    given = {name for name in vars(args) if name in TrainFlags.model_fields}
    chosen = flags.model_dump(include=given)
    model = {k: v for k, v in chosen.items() if k in ModelOptions.model_fields}
    training = {k: v for k, v in chosen.items() if k in TrainConfig.model_fields}
    return MODEL_OPTIONS.replace(**model), TRAINING.replace(device="cpu", **training)


def run(variant: Variant, data: Path, out: Path) -> dict[str, Any]:
    options, config = recipe(variant)
    corpus = load_corpus(data, "jsonl", seed=config.seed)
    started = time.perf_counter()
    metrics = train_model(corpus, out, options, config, progress=False)
    seconds = time.perf_counter() - started
    predictor = Predictor.load(out, "cpu")
    atis = atis_scores(predictor, merge_places=True, conventions=True, split="dev")
    sgd = score(load_turns(SGD), slotfill_system(out)([t.text for t in load_turns(SGD)]))
    return {
        "variant": variant.name,
        "flags": shlex.join(variant.flags),
        "generated_dev_f1": metrics["dev"]["slot_f1"],
        "atis_dev_f1": atis["slot_f1"],
        "sgd_f1": sgd["spans"]["f1"],
        "sgd_precision": sgd["spans"]["precision"],
        "sgd_false_alarms": sgd["false_alarm_rate"],
        "train_seconds": metrics["train_seconds"],
        "wall_seconds": seconds,
        "epochs": metrics["epochs_run"],
    }


def pct(value: float) -> str:
    return f"{100 * value:.2f}"


def render(rows: list[dict[str, Any]], argv: list[str]) -> str:
    lines = [
        START,
        f"Command: `{command_line('bench/default_recipe.py', argv)}`  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d}; machine: {machine()}  ",
        "Dev data only: the generated corpus's dev split, ATIS dev (places merged, the product's time "
        "conventions) and `sgd_travel_dev`'s 1,630 chat turns (strict character spans).",
        "",
        "| variant | flags | generated dev F1 | ATIS dev F1 | SGD F1 | SGD precision | SGD false alarms | "
        "epochs | train time (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | `{r['flags'] or '(the default recipe)'}` | {pct(r['generated_dev_f1'])} | "
            f"{pct(r['atis_dev_f1'])} | {pct(r['sgd_f1'])} | {pct(r['sgd_precision'])} | "
            f"{pct(r['sgd_false_alarms'])}% | {r['epochs']} | {r['train_seconds']:.0f} |"
        )
    lines.append(END)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--variants", nargs="+", type=parse_variant, default=[Variant("default", ())])
    parser.add_argument("--data", type=Path, help="the default corpus (default: generated afresh)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "default-recipe")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rows = []
    with tempfile.TemporaryDirectory(prefix="default-recipe-") as scratch:
        data = args.data
        if data is None:
            data = Path(scratch) / "data"
            write_corpus(data, DEFAULT_SIZES, DEFAULT_SEED)
        for variant in args.variants:
            rows.append(run(variant, data, args.out / variant.name))
            logger.info("%s", json.dumps(rows[-1]))
    block = render(rows, argv)
    print(block)
    if not args.no_write:
        replace_section(BENCHMARKS, START, END, HEADING, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
