"""What averaging networks gains: single-network runs of ``bench/ablation.py`` joined into ensembles.

Member ``i`` of an ensemble trained with ``--seed S`` is exactly the single network that
``--members 1 --seed S+i`` trains (``training.members``), so joining the single-network runs of an
ablation measures every ensemble of them without training anything again: each pair (and triple,
...) of seeds is scored on dev and on the held-out share of train, beside the mean of its members
alone. Test is not read.

    python bench/ablation.py --dataset atis --seeds 1 2 3 --variants 'single=--members 1' --no-write
    python bench/ensembles.py --dataset atis --variant single --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from accuracy import ROOT

sys.path.insert(0, str(ROOT))

import torch
from ablation import run_name

from slotfill.model.ensemble import TaggerEnsemble, member_config
from slotfill.model.predictor import Predictor
from slotfill.model.tagger import SlotTagger
from slotfill.training.formats.detect import read_split
from slotfill.training.trainer import evaluate_examples

SCORES = ("slot_f1", "intent_accuracy", "sentence_accuracy")
SPLITS = {"dev": "dev", "held-out": "test"}  # the ablation fold keeps its held-out share as "test"


def join(predictors: Sequence[Predictor]) -> Predictor:
    """One predictor averaging ``predictors``, which must share labels, settings and vocabulary."""
    first = predictors[0]
    if len(predictors) == 1:
        return first
    config = member_config(first.config).replace(members=len(predictors))
    members = []
    for predictor in predictors:
        if member_config(predictor.config) != member_config(config):
            raise SystemExit("the runs differ in settings or labels: join runs of one variant")
        if predictor.featurizer.save() != first.featurizer.save():
            raise SystemExit("the runs differ in vocabulary or subwords: join runs trained on the same data")
        member = SlotTagger(member_config(config), first.featurizer.sizes)
        member.load_state_dict(predictor.model.state_dict())
        members.append(member.eval())
    ensemble = TaggerEnsemble(config, members).eval()
    ensemble.round_to_storage()  # as training does before it scores and saves
    return Predictor(ensemble, first.featurizer, torch.device("cpu"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="atis", choices=["atis", "snips"])
    parser.add_argument("--variant", default="single", help="the ablation variant whose runs are joined")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--fold-seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation", help="the ablation's --out")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    root = args.out / args.dataset
    fold = root / f"fold-{args.fold_seed}"
    runs = [root / f"{args.dataset}-{run_name(args.variant)}-seed{seed}" for seed in args.seeds]
    missing = [str(run) for run in [fold, *runs] if not run.is_dir()]
    if missing:
        parser.error(f"not found (run bench/ablation.py first): {', '.join(missing)}")
    predictors = [Predictor.load(run, device="cpu") for run in runs]
    if any(p.config.members != 1 for p in predictors):
        parser.error("join single-network runs (trained with --members 1)")
    data = {name: read_split(fold, split) for name, split in SPLITS.items()}
    scored: dict[tuple[int, ...], dict[str, dict[str, float]]] = {}
    for size in range(1, len(predictors) + 1):
        for combo in itertools.combinations(range(len(predictors)), size):
            joined = join([predictors[i] for i in combo])
            scored[combo] = {
                name: {k: v for k, v in evaluate_examples(joined, examples).to_dict().items() if k in SCORES}
                for name, examples in data.items()
            }
    header = ["members", "combinations"] + [
        f"{split} {s.replace('_', ' ')}" for split in data for s in SCORES
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for size in range(1, len(predictors) + 1):
        combos = [c for c in scored if len(c) == size]
        cells = [
            f"{100 * statistics.fmean(scored[c][split][s] for c in combos):.2f}"
            for split in data
            for s in SCORES
        ]
        names = ", ".join("+".join(str(args.seeds[i]) for i in c) for c in combos)
        print(f"| {size} | {names} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
