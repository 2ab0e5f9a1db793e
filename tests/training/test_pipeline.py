"""``load_corpus`` and ``train_model``: splits read and held out, digests, and the model folder written."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import slotfill.training.distill
from slotfill.model.batch import Featurizer
from slotfill.model.config import ModelOptions
from slotfill.model.onnx_graph import GRAPH, graph_is_current
from slotfill.model.prediction import Tagging
from slotfill.model.predictor import Predictor
from slotfill.model.tagger import Tagger
from slotfill.training import pipeline
from slotfill.training.config import TrainConfig
from slotfill.training.data import DataError, Example
from slotfill.training.formats import write_split
from slotfill.training.labelmap import LabelMap
from slotfill.training.pipeline import CURVES_FILE, LOG_FILE, Corpus, load_corpus, train_model
from slotfill.training.trainer import evaluate_examples

SMALL = ModelOptions(word_dim=8, trigram_dim=8, hidden_size=8, trigram_buckets=256)
FORMATS = ("jointbert", "conll", "jsonl")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

Data = tuple[list[Example], list[Example]]


def _test_split(dev: list[Example]) -> list[Example]:
    return dev[:4]


def write_dataset(directory: Path, fmt: str, splits: dict[str, list[Example]]) -> Path:
    for split, examples in splits.items():
        write_split(examples, directory, split, fmt)
    return directory


@pytest.fixture(scope="module")
def full(travel_data: Data, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same train/dev/test in each format."""
    train, dev = travel_data
    root = tmp_path_factory.mktemp("full")
    splits = {"train": train, "dev": dev, "test": _test_split(dev)}
    return {fmt: write_dataset(root / fmt, fmt, splits) for fmt in FORMATS}


@pytest.fixture(scope="module")
def no_dev(travel_data: Data, tmp_path_factory: pytest.TempPathFactory) -> Path:
    train, dev = travel_data
    return write_dataset(tmp_path_factory.mktemp("nodev"), "conll", {"train": train, "test": dev[:4]})


def test_reads_every_split(full: dict[str, Path], travel_data: Data) -> None:
    corpus = load_corpus(full["jointbert"])
    train, dev = travel_data
    assert corpus.format == "jointbert"
    assert (corpus.train, corpus.dev, corpus.test) == (train, dev, _test_split(dev))
    assert not corpus.dev_held_out


def test_the_digest_is_the_same_in_every_format(full: dict[str, Path]) -> None:
    digests = {fmt: load_corpus(path).digest for fmt, path in full.items()}
    assert len(set(digests.values())) == 1
    assert len(digests["conll"]) == 64 and int(digests["conll"], 16) >= 0


def test_the_digest_changes_with_the_data(full: dict[str, Path], tmp_path: Path, travel_data: Data) -> None:
    train, dev = travel_data
    changed = [replace(train[0], intent="airfare"), *train[1:]]
    other = write_dataset(tmp_path, "conll", {"train": changed, "dev": dev, "test": _test_split(dev)})
    assert load_corpus(other).digest != load_corpus(full["conll"]).digest


def test_without_dev_a_share_of_train_is_held_out(no_dev: Path, travel_data: Data) -> None:
    train, _ = travel_data
    corpus = load_corpus(no_dev, dev_fraction=0.25, seed=3)
    assert corpus.dev_held_out
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (24, 8, 4)
    assert sorted(map(repr, corpus.train + corpus.dev)) == sorted(map(repr, train))
    assert load_corpus(no_dev, dev_fraction=0.25, seed=3).dev == corpus.dev
    assert load_corpus(no_dev, dev_fraction=0.25, seed=4).dev != corpus.dev


def test_at_least_one_utterance_is_held_out(no_dev: Path) -> None:
    corpus = load_corpus(no_dev, dev_fraction=0.001)
    assert (len(corpus.train), len(corpus.dev)) == (31, 1)


def test_holding_out_never_leaves_train_empty(no_dev: Path) -> None:
    try:
        corpus = load_corpus(no_dev, dev_fraction=0.99)
    except DataError:
        return  # refusing is fine too
    assert corpus.train


def test_too_little_data_to_hold_out_is_refused(tmp_path: Path, travel_data: Data) -> None:
    write_dataset(tmp_path, "jsonl", {"train": travel_data[0][:9]})
    with pytest.raises(DataError, match="only 9 training utterances and no dev split"):
        load_corpus(tmp_path)


def test_a_folder_without_train_is_refused(tmp_path: Path, travel_data: Data) -> None:
    write_dataset(tmp_path, "conll", {"dev": travel_data[1], "test": travel_data[1]})
    with pytest.raises(DataError, match=r"no train split found for format 'conll' \(found: dev, test"):
        load_corpus(tmp_path)


def test_the_label_map_applies_to_every_split(full: dict[str, Path]) -> None:
    corpus = load_corpus(full["jsonl"], label_map=LabelMap({"dest": "city", "departure": "city"}))
    tags = {tag for split in (corpus.train, corpus.dev, corpus.test) for e in split for tag in e.tags}
    assert tags == {"O", "B-city", "B-time", "I-time"}
    assert corpus.digest != load_corpus(full["jsonl"]).digest  # the digest is of what the model sees


@pytest.fixture(scope="module")
def trained(no_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Corpus, Path, dict[str, object]]:
    corpus = load_corpus(no_dev)
    out = tmp_path_factory.mktemp("trained") / "model"
    config = TrainConfig(epochs=3, batch_size=8, seed=5, members=1, device="cpu")
    return corpus, out, train_model(corpus, out, SMALL, config, progress=False)


@pytest.fixture(scope="module")
def ensemble(full: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Two members, seeds 5 and 6 (trained one after another: little data)."""
    out = tmp_path_factory.mktemp("ensemble") / "model"
    config = TrainConfig(epochs=3, batch_size=8, seed=5, members=2, device="cpu")
    return out, train_model(load_corpus(full["jointbert"]), out, SMALL, config, progress=False)


def test_train_model_writes_the_model_folder(trained: tuple[Corpus, Path, dict[str, object]]) -> None:
    _, out, metrics = trained
    names = {path.name for path in out.iterdir()}
    assert {"config.json", "model.safetensors", "vocab.json", "metrics.json", LOG_FILE, CURVES_FILE} <= names
    assert graph_is_current(out)  # the ONNX graph that --backend auto serves
    assert "spm.model" not in names
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8")) == metrics
    assert (out / CURVES_FILE).read_bytes().startswith(PNG_MAGIC)
    saved = json.loads((out / "train_config.json").read_text(encoding="utf-8"))
    assert saved["model"] == SMALL.model_dump(mode="json") and saved["train"]["seed"] == 5
    assert Predictor.load(out, device="cpu").config.hidden_size == 8


def test_metrics_count_the_held_out_dev(trained: tuple[Corpus, Path, dict[str, object]]) -> None:
    corpus, _, metrics = trained
    data = metrics["data"]
    assert data == {
        "format": "conll",
        "digest": corpus.digest,
        "train": 29,
        "dev": 3,
        "test": 4,
        "dev_held_out": True,
    }
    assert metrics["dev"]["utterances"] == 3 and metrics["test"]["utterances"] == 4  # type: ignore[index]
    assert 1 <= metrics["best_epoch"] <= metrics["epochs_run"] <= 3  # type: ignore[operator]


def test_the_log_has_one_line_per_epoch_run(trained: tuple[Corpus, Path, dict[str, object]]) -> None:
    _, out, metrics = trained
    lines = (out / LOG_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == list(range(1, metrics["epochs_run"] + 1))  # type: ignore[operator]


def test_an_ensemble_records_each_member(ensemble: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = ensemble
    members = metrics["members"]
    assert [m["seed"] for m in members] == [5, 6]
    assert metrics["best_epoch"] == round((members[0]["best_epoch"] + members[1]["best_epoch"]) / 2)
    assert metrics["epochs_run"] == max(m["epochs_run"] for m in members)
    assert metrics["train_seconds"] == pytest.approx(sum(m["train_seconds"] for m in members), abs=0.11)
    assert set(members[0]["dev"]) == {"slot_f1", "intent_accuracy", "sentence_accuracy"}
    predictor = Predictor.load(out, device="cpu")
    assert predictor.config.members == 2
    saved = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert saved["training"]["settings"]["members"] == 2


def test_an_ensembles_log_marks_each_members_epochs(ensemble: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = ensemble
    lines = [json.loads(line) for line in (out / LOG_FILE).read_text(encoding="utf-8").splitlines()]
    for index, member in enumerate(metrics["members"]):
        epochs = [line["epoch"] for line in lines if line["member"] == index]
        assert epochs == list(range(1, member["epochs_run"] + 1))
    assert len(lines) == sum(m["epochs_run"] for m in metrics["members"])
    assert (out / CURVES_FILE).read_bytes().startswith(PNG_MAGIC)


@pytest.fixture(scope="module")
def distilled(full: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Two members (seeds 5 and 6) distilled into one network."""
    out = tmp_path_factory.mktemp("distilled") / "model"
    config = TrainConfig(epochs=3, batch_size=8, seed=5, members=2, device="cpu", distill=0.5)
    return out, train_model(load_corpus(full["jointbert"]), out, SMALL, config, progress=False)


def test_a_distilled_model_is_one_network_that_records_its_teacher(
    distilled: tuple[Path, dict[str, Any]],
) -> None:
    out, metrics = distilled
    predictor = Predictor.load(out, device="cpu")
    assert predictor.config.members == 1
    assert [m["seed"] for m in metrics["members"]] == [5, 6]
    student = metrics["student"]
    assert student["seed"] == 5
    assert (metrics["best_epoch"], metrics["epochs_run"]) == (student["best_epoch"], student["epochs_run"])
    every = [*metrics["members"], student]
    assert metrics["train_seconds"] == pytest.approx(sum(m["train_seconds"] for m in every), abs=0.16)
    assert set(metrics["teacher"]) == {"dev", "test"}
    assert set(metrics["teacher"]["test"]) == {"slot_f1", "intent_accuracy", "sentence_accuracy"}
    saved = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert saved["training"]["settings"]["distill"] == 0.5


def test_a_distilled_models_log_marks_the_students_epochs(distilled: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = distilled
    lines = [json.loads(line) for line in (out / LOG_FILE).read_text(encoding="utf-8").splitlines()]
    epochs = [line["epoch"] for line in lines if line["member"] == "student"]
    assert epochs == list(range(1, metrics["student"]["epochs_run"] + 1))
    assert (out / CURVES_FILE).read_bytes().startswith(PNG_MAGIC)


def test_ctrl_c_before_the_students_first_epoch_keeps_the_members(
    full: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # as fit does when Ctrl-C comes before an epoch has finished

    monkeypatch.setattr(slotfill.training.distill, "fit", interrupted)
    config = TrainConfig(epochs=2, batch_size=8, seed=5, members=2, device="cpu", distill=0.5, onnx=False)
    metrics = train_model(load_corpus(full["jointbert"]), tmp_path / "model", SMALL, config, progress=False)
    assert metrics["interrupted"] and "teacher" not in metrics and "student" not in metrics
    assert Predictor.load(tmp_path / "model", device="cpu").config.members == 2


def test_members_cut_short_are_not_distilled(
    full: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pipeline.fit_members

    def cut_short(*args: Any, **kwargs: Any) -> Any:
        model, results = real(*args, **kwargs)
        return model, [replace(results[0], interrupted=True), *results[1:]]

    monkeypatch.setattr(pipeline, "fit_members", cut_short)
    monkeypatch.setattr(pipeline, "distil", lambda *args, **kwargs: pytest.fail("distilled after Ctrl-C"))
    config = TrainConfig(epochs=2, batch_size=8, seed=5, members=2, device="cpu", distill=0.5, onnx=False)
    metrics = train_model(load_corpus(full["jointbert"]), tmp_path / "model", SMALL, config, progress=False)
    assert metrics["interrupted"] and "student" not in metrics


def test_one_member_has_nothing_to_distil(full: dict[str, Path], tmp_path: Path) -> None:
    config = TrainConfig(epochs=2, batch_size=8, seed=5, members=1, device="cpu", distill=0.5, onnx=False)
    metrics = train_model(load_corpus(full["jointbert"]), tmp_path / "model", SMALL, config, progress=False)
    assert "student" not in metrics and "teacher" not in metrics and "members" not in metrics
    assert not (tmp_path / "model" / GRAPH).exists()  # --no-onnx


def test_a_cell_without_an_onnx_kernel_is_saved_for_torch(full: dict[str, Path], tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, batch_size=8, seed=5, members=1, device="cpu")
    options = SMALL.replace(cell="scrn")
    train_model(load_corpus(full["jointbert"]), tmp_path / "model", options, config, progress=False)
    assert not (tmp_path / "model" / GRAPH).exists()
    assert Predictor.load(tmp_path / "model", device="cpu").tag([["fly", "to", "boston"]])


def _cased(example: Example) -> Example:
    """The utterance as a user might type it: slot words capitalised."""
    pairs = zip(example.tokens, example.tags, strict=True)
    return replace(example, tokens=tuple(t if tag == "O" else t.capitalize() for t, tag in pairs))


def test_a_model_with_word_shapes_tags_the_same_after_loading(
    full: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = load_corpus(full["jsonl"])
    cased_train = [*corpus.train, *map(_cased, corpus.train)]
    corpus = replace(corpus, train=cased_train, dev=list(map(_cased, corpus.dev)))
    sentences = [list(e.tokens) for e in corpus.dev] + [["fly", "from", "NYC", "to", "LA", "at", "6:30"]]
    real_save = pipeline.save_artifact
    before: list[Tagging] = []

    def save_and_note(folder: Path, model: Tagger, featurizer: Featurizer, **kwargs: Any) -> None:
        before.extend(Predictor(model, featurizer).tag(sentences))  # the model in memory, as saved
        real_save(folder, model, featurizer, **kwargs)

    monkeypatch.setattr(pipeline, "save_artifact", save_and_note)
    options = SMALL.replace(encoders=("word", "trigram", "shape"))
    config = TrainConfig(epochs=3, batch_size=8, seed=5, members=1, device="cpu")
    metrics = train_model(corpus, tmp_path / "model", options, config, progress=False)
    # torch: the network as trained (the ONNX graph's own agreement is tests/model/test_onnx.py's).
    after = Predictor.load(tmp_path / "model", device="cpu", backend="torch")
    assert after.config.encoders == ("word", "trigram", "shape")
    assert len(before) == len(sentences)
    tagged = after.tag(sentences)
    assert [t.tags for t in tagged] == [t.tags for t in before]
    for loaded, in_memory in zip(tagged, before, strict=True):
        assert loaded.confidences == pytest.approx(in_memory.confidences, rel=1e-6)
    assert evaluate_examples(after, corpus.dev).to_dict() == metrics["dev"]
