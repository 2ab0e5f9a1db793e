"""``bench/ensembles.py``: joining single-network runs gives the ensemble training would make, and
every combination of them is scored."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ensembles

from slotfill.model.batch import Featurizer
from slotfill.model.config import ModelOptions
from slotfill.model.encoders.vocab import Vocabulary, WordEncoder
from slotfill.model.ensemble import TaggerEnsemble
from slotfill.model.predictor import Predictor
from slotfill.model.tagger import SlotTagger
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.formats.detect import write_split
from slotfill.training.pipeline import load_corpus, train_model

SMALL = ModelOptions(word_dim=8, trigram_dim=8, hidden_size=8, trigram_buckets=128)
QUICK = TrainConfig(epochs=3, batch_size=8, lr=1e-2, slot_swap=0.0, device="cpu")

Data = tuple[list[Example], list[Example]]


@pytest.fixture(scope="module")
def runs(travel_data: Data, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ablation's layout: a fold, two single-network runs, and the ensemble of the same seeds."""
    train, dev = travel_data
    root = tmp_path_factory.mktemp("ablation") / "atis"
    fold = root / "fold-2026"
    for split, examples in (("train", train), ("dev", dev), ("test", dev[:4])):
        write_split(examples, fold, split, "jointbert")
    corpus = load_corpus(fold)
    for seed in (1, 2):
        train_model(
            corpus,
            root / f"atis-single-seed{seed}",
            SMALL,
            QUICK.replace(seed=seed, members=1),
            progress=False,
        )
    train_model(
        corpus,
        root / "pair",
        SMALL,
        QUICK.replace(seed=1, members=2),
        progress=False,
    )
    return root


def test_joining_the_single_runs_gives_the_trained_ensemble(runs: Path) -> None:
    singles = [Predictor.load(runs / f"atis-single-seed{seed}", device="cpu") for seed in (1, 2)]
    joined = ensembles.join(singles)
    trained = Predictor.load(runs / "pair", device="cpu")
    assert isinstance(joined.model, TaggerEnsemble)
    mine, theirs = joined.model.state_dict(), trained.model.state_dict()
    assert mine.keys() == theirs.keys()
    assert [k for k in mine if not torch.equal(mine[k], theirs[k])] == []
    texts = ["arrive taipei on monday", "fly from boston to denver"]
    assert [p.tags for p in joined.parse_batch(texts)] == [p.tags for p in trained.parse_batch(texts)]


def test_the_table_scores_every_combination(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ensembles.main(["--dataset", "atis", "--seeds", "1", "2", "--out", str(runs.parent)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| 1 | 1, 2 |") and rows[2].startswith("| 2 | 1+2 |")
    assert all(len(row.split("|")) == 10 for row in rows)


def test_runs_of_other_settings_or_data_are_refused(runs: Path) -> None:
    first, second = (Predictor.load(runs / f"atis-single-seed{seed}", device="cpu") for seed in (1, 2))
    wider = second.config.replace(hidden_size=12)
    other = Predictor(SlotTagger(wider, second.featurizer.sizes), second.featurizer)
    with pytest.raises(SystemExit, match="settings or labels"):
        ensembles.join([first, other])
    word = second.featurizer.encoders["word"]
    assert isinstance(word, WordEncoder)
    words = [*word.vocab.words[:-1], "zanzibar"]  # as if trained on other data
    encoders = [WordEncoder(Vocabulary(words)), second.featurizer.encoders["trigram"]]
    moved = Predictor(second.model, Featurizer(second.config, encoders))
    with pytest.raises(SystemExit, match="vocabulary"):
        ensembles.join([first, moved])
