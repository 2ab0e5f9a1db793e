"""The training side of the ``slotfill`` command: train, evaluate, predict, generate, build-default.

``slotfill.cli`` assembles these with the service's ``serve`` and turns known failures into one
line on stderr; only argparse and torch-free modules are imported at module level, so
``slotfill --help`` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slotfill.model.device import DEVICES
from slotfill.training.flags import TrainFlags, add_train_flags, read_train_flags

if TYPE_CHECKING:
    from pydantic_settings import CliSettingsSource

logger = logging.getLogger("slotfill")

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    from slotfill.training.formats import FORMATS

    parser.add_argument("--data", type=Path, required=True, help="data folder (see README: formats)")
    parser.add_argument("--format", choices=FORMATS, help="data format (detected from the files if omitted)")
    parser.add_argument(
        "--label-map", type=Path, help="JSON file collapsing slot labels (e.g. toloc.* -> dest)"
    )
    parser.add_argument(
        "--bio-policy",
        choices=("strict", "repair"),
        default="strict",
        help="strict: an I- tag without B- is an error; repair: it becomes B-",
    )


def add_parsers(commands: Any) -> None:
    """Add train, evaluate, predict, generate and build-default to ``slotfill``'s subparsers."""
    train = commands.add_parser("train", help="train a model folder from annotated data")
    _add_data_options(train)
    train.add_argument("--out", type=Path, required=True, help="model folder to write, e.g. models/atis")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--dev-fraction",
        type=float,
        default=0.1,
        help="share of train held out for early stopping when there is no dev split",
    )
    flags = add_train_flags(train)
    train.set_defaults(run=functools.partial(run_train, flags))

    evaluate = commands.add_parser("evaluate", help="score a model folder on a data split")
    evaluate.add_argument("model", type=Path)
    _add_data_options(evaluate)
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--report", type=Path, help="write the scores as JSON here")
    evaluate.add_argument("--predictions", type=Path, help="write 'token gold predicted' lines (conlleval)")
    evaluate.add_argument("--device", choices=DEVICES, default="auto")
    evaluate.set_defaults(run=run_evaluate)

    predict = commands.add_parser("predict", help="tag texts given as arguments or one per line on stdin")
    predict.add_argument("model", type=Path)
    predict.add_argument("texts", nargs="*", help="texts to tag (default: read lines from stdin)")
    predict.add_argument("--device", choices=DEVICES, default="auto")
    _add_backend_option(predict)
    predict.set_defaults(run=run_predict)
    export = commands.add_parser(
        "export", help="write a model folder's network as an ONNX graph, for the onnx backend"
    )
    export.add_argument("model", type=Path, help="the model folder; the graph is written into it")
    formats = export.add_mutually_exclusive_group(required=True)
    formats.add_argument(
        "--onnx", action="store_true", help="model.onnx + onnx.json, run by ONNX Runtime (`--backend onnx`)"
    )
    export.add_argument(
        "--int8",
        action="store_true",
        help="int8 weights (dynamic quantization): a quarter of the size and faster, at a small cost "
        "in accuracy; check it with `slotfill evaluate`",
    )
    export.set_defaults(run=run_export)
    _add_travel_parsers(commands)


def _add_backend_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="what computes the network's scores: onnx (ONNX Runtime, on the CPU; needs "
        "`slotfill export --onnx`), torch, or auto: onnx when the folder has a current export and "
        "the device is the CPU (default)",
    )


def _count(value: str) -> int:
    count = int(value)
    if count < 1:
        raise argparse.ArgumentTypeError(f"need at least 1, got {count}")
    return count


def _add_travel_parsers(commands: Any) -> None:
    from slotfill.training.travel.corpus import DEFAULT_SEED, DEFAULT_SIZES

    generate = commands.add_parser(
        "generate", help="write the synthetic travel corpus (departure, dest, time) as JSONL splits"
    )
    generate.add_argument("--out", type=Path, required=True, help="folder for train/dev/test/unseen.jsonl")
    generate.add_argument("--seed", type=int, default=DEFAULT_SEED)
    for split, size in DEFAULT_SIZES.items():
        generate.add_argument(f"--{split}", type=_count, default=size, help=f"utterances (default {size})")
    generate.set_defaults(run=run_generate)

    default = commands.add_parser(
        "build-default", help="generate the travel corpus and train the bundled default model, if missing"
    )
    default.add_argument("--out", type=Path, default=Path("models/default"))
    default.add_argument("--data", type=Path, default=Path("data/travel"), help="where the corpus goes")
    default.add_argument("--force", action="store_true", help="regenerate and retrain even if present")
    default.add_argument("--device", choices=DEVICES, default="auto")
    default.add_argument("--quiet", action="store_true", help="no progress bar")
    default.set_defaults(run=run_build_default)


def _label_map(args: argparse.Namespace) -> Any:
    from slotfill.training.labelmap import LabelMap

    return LabelMap.from_file(args.label_map) if args.label_map else None


class OutputError(Exception):
    """An output path that cannot be written (a file where a folder is wanted, or the reverse)."""


def _check_output(path: Path | None, folder: bool) -> None:
    if path is None:
        return
    if folder and path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder")
    if not folder and path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name")


def run_train(flags: CliSettingsSource[TrainFlags], args: argparse.Namespace) -> int:
    from slotfill.training.pipeline import load_corpus, train_model

    settings = read_train_flags(flags, args)  # bad settings fail before any data is read
    _check_output(args.out, folder=True)
    if not 0.0 < args.dev_fraction < 1.0:
        raise ValueError(f"--dev-fraction must be between 0 and 1, got {args.dev_fraction}")
    corpus = load_corpus(
        args.data, args.format, _label_map(args), args.bio_policy, args.dev_fraction, settings.seed
    )
    metrics = train_model(corpus, args.out, settings.model, settings.training, progress=not args.quiet)
    dev = metrics["dev"]
    line = f"dev slot F1 {100 * dev['slot_f1']:.2f}"
    if "test" in metrics:
        test = metrics["test"]
        line += f", test slot F1 {100 * test['slot_f1']:.2f}"
        if test.get("intent_accuracy") is not None:
            line += f", intent accuracy {100 * test['intent_accuracy']:.2f}"
        line += f", sentence accuracy {100 * test['sentence_accuracy']:.2f}"
    print(f"saved {args.out} (best epoch {metrics['best_epoch']}): {line}")
    if "teacher" in metrics:
        split = "test" if "test" in metrics["teacher"] else "dev"
        print(
            f"one network distilled from {len(metrics['members'])} averaged, whose {split} slot F1 was "
            f"{100 * metrics['teacher'][split]['slot_f1']:.2f}; it answers at one network's cost"
        )
    if metrics["interrupted"]:
        epochs = metrics["epochs_run"]
        print(f"slotfill: interrupted after {epochs} epochs; saved the best epoch so far", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from slotfill.model.predictor import Predictor
    from slotfill.training.formats import read_split
    from slotfill.training.report import render_confusions, render_table, write_predictions, write_report
    from slotfill.training.trainer import evaluate_examples

    _check_output(args.report, folder=False)
    _check_output(args.predictions, folder=False)
    predictor = Predictor.load(args.model, device=args.device)
    examples = read_split(args.data, args.split, args.format, args.bio_policy)
    label_map = _label_map(args)
    if label_map is not None:
        examples = label_map.apply_all(examples)
    scores = evaluate_examples(predictor, examples)
    console = Console()
    console.print(render_table(scores))
    known = set(predictor.config.intents)
    confusions = render_confusions(scores, known)  # None without intents or without errors
    if confusions is not None:
        console.print(confusions)
    unknown = Counter(e.intent for e in examples if e.intent is not None and e.intent not in known)
    if predictor.has_intents and unknown:
        logger.warning(
            "%d of %d utterances have an intent the model has no label for (%s); they always count as wrong",
            unknown.total(),
            len(examples),
            ", ".join(f"{label}: {count}" for label, count in sorted(unknown.items())),
        )
    if args.report:
        extra: dict[str, object] = {"model": str(args.model), "data": str(args.data), "split": args.split}
        if predictor.has_intents:
            extra["unknown_intents"] = dict(sorted(unknown.items()))
        write_report(scores, args.report, extra=extra)
    if args.predictions:
        taggings = predictor.tag([list(e.tokens) for e in examples])
        write_predictions(
            args.predictions,
            [e.tokens for e in examples],
            [e.tags for e in examples],
            [t.tags for t in taggings],
        )
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from slotfill.model.predictor import Predictor

    predictor = Predictor.load(args.model, device=args.device, backend=args.backend)
    texts: Sequence[str] = args.texts or [line.rstrip("\n") for line in sys.stdin]
    for parse in predictor.parse_batch(texts):
        print(json.dumps(dataclasses.asdict(parse), ensure_ascii=False))
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from slotfill.training.travel.corpus import DEFAULT_SIZES, write_corpus

    _check_output(args.out, folder=True)
    sizes = {split: getattr(args, split) for split in DEFAULT_SIZES}
    counts = write_corpus(args.out, sizes, args.seed)
    print(f"wrote {args.out}: " + ", ".join(f"{split} {count}" for split, count in counts.items()))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from slotfill.model.onnx_graph import write_onnx

    path = write_onnx(args.model, int8=args.int8)
    kind = "int8 weights" if args.int8 else "float32 weights"
    size = path.stat().st_size / 1e6
    print(f"wrote {path} ({size:.1f} MB, {kind}); serve it with --backend onnx (or auto)")
    return 0


def run_build_default(args: argparse.Namespace) -> int:
    from slotfill.training.travel.default import build_default

    _check_output(args.out, folder=True)
    _check_output(args.data, folder=True)
    metrics = build_default(
        args.out, args.data, force=args.force, progress=not args.quiet, device=args.device
    )
    if metrics is None:
        print(f"{args.out} is ready (use --force to train it again)")
        return 0
    scores = ", ".join(
        f"{split} slot F1 {100 * metrics[split]['slot_f1']:.2f}"
        for split in ("test", "unseen")
        if split in metrics
    )
    print(f"saved {args.out} in {metrics['train_seconds']:.0f} s of training: {scores}")
    return 0
