"""``slotfill train | evaluate | predict`` end to end on tiny data, called in-process through ``main``.

Every model here is trained once per module (a second or so each) on 32 travel utterances written
on the fly in each data format, and shared by the tests that read it.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import torch
from safetensors.torch import load_file

import slotfill.training.pipeline
from slotfill.cli import main
from slotfill.model.artifact import WEIGHTS
from slotfill.model.prediction import Parse
from slotfill.model.predictor import Predictor
from slotfill.training.data import Example
from slotfill.training.formats import write_split
from slotfill.training.metrics import score
from slotfill.training.pipeline import load_corpus
from slotfill.training.report import read_predictions

FORMATS = ("jointbert", "conll", "jsonl")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = (
    "--word-dim", "8", "--trigram-dim", "8", "--hidden-size", "8", "--trigram-buckets", "256",
    "--epochs", "3", "--batch-size", "8", "--lr", "0.02", "--quiet", "--members", "1",
)  # fmt: skip
MODEL_FILES = {"config.json", "model.safetensors", "vocab.json", "metrics.json"}
RUN_FILES = {"train_log.jsonl", "training_curves.png"}
SCORE_KEYS = ("slot_f1", "intent_accuracy", "sentence_accuracy")

Data = tuple[list[Example], list[Example]]


def _ex(text: str, tags: str, intent: str) -> Example:
    return Example(tuple(text.split()), tuple(tags.split()), intent)


TEST = [
    _ex("arrive denver on june 5th", "O B-dest O B-time I-time", "flight"),
    _ex("leave paris on monday", "O B-departure O B-time", "flight"),
    _ex("fly from london to taipei", "O O B-departure O B-dest", "flight"),
    _ex("cheapest fare to boston", "O O O B-dest", "airfare"),
]


class Outcome(NamedTuple):
    code: int
    out: str
    err: str


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> Outcome:
    """Run ``slotfill ARGV`` in-process and capture what it prints."""
    capsys.readouterr()
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return Outcome(code, out, err)


def train(data: Path, out: Path, *extra: object) -> Path:
    """``slotfill train`` with tiny settings (for module fixtures, which cannot use capsys)."""
    code = main(["train", "--data", str(data), "--out", str(out), *SMALL, *map(str, extra)])
    assert code == 0
    return out


def assert_error(outcome: Outcome, code: int, *fragments: str) -> str:
    """One ``slotfill: error: ...`` line on stderr naming the problem, no traceback, exit ``code``."""
    assert outcome.code == code, outcome
    assert "Traceback" not in outcome.err
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    assert len(lines) == 1, outcome.err
    assert lines[0].startswith("slotfill: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def same_scores(got: Any, expected: Any) -> bool:
    """Equal scores, the floats made from confidences to 1e-6: training scores a model in torch,
    ``evaluate`` serves the folder's ONNX graph, and the two round differently."""
    if isinstance(expected, dict):
        return got.keys() == expected.keys() and all(same_scores(got[k], expected[k]) for k in expected)
    if isinstance(expected, list):
        return len(got) == len(expected) and all(map(same_scores, got, expected))
    if isinstance(expected, float):
        return bool(got == pytest.approx(expected, rel=1e-6, abs=1e-9))
    return bool(got == expected)


def write_dataset(directory: Path, fmt: str, splits: Mapping[str, Sequence[Example]]) -> Path:
    for split, examples in splits.items():
        write_split(examples, directory, split, fmt)
    return directory


# --- data and models, shared per module -------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def cpu_only() -> Iterator[None]:
    """Hide any GPU: "auto" means the CPU, so scores compare exactly and ``--device cuda`` must fail."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.cuda, "is_available", lambda: False)
        yield


class Datasets(NamedTuple):
    by_format: dict[str, Path]  # train, dev, test with intents
    no_label: Path  # jointbert without label files
    no_dev: Path  # conll train + test
    mixed: Path  # train.conll and train.jsonl side by side


@pytest.fixture(scope="module")
def datasets(travel_data: Data, tmp_path_factory: pytest.TempPathFactory) -> Datasets:
    train, dev = travel_data
    root = tmp_path_factory.mktemp("data")
    splits = {"train": train, "dev": dev, "test": TEST}
    by_format = {fmt: write_dataset(root / fmt, fmt, splits) for fmt in FORMATS}
    bare = {name: [replace(e, intent=None) for e in examples] for name, examples in splits.items()}
    mixed = write_dataset(root / "mixed", "conll", {"train": train})
    write_dataset(mixed, "jsonl", {"train": train})
    return Datasets(
        by_format,
        write_dataset(root / "no_label", "jointbert", bare),
        write_dataset(root / "no_dev", "conll", {"train": train, "test": TEST}),
        mixed,
    )


@pytest.fixture(scope="module")
def models(datasets: Datasets, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One model per format: jointbert and jsonl detected, conll named with ``--format``."""
    root = tmp_path_factory.mktemp("models")
    return {
        "jointbert": train(datasets.by_format["jointbert"], root / "jointbert"),
        "conll": train(datasets.by_format["conll"], root / "conll", "--format", "conll"),
        "jsonl": train(datasets.by_format["jsonl"], root / "jsonl"),
    }


@pytest.fixture(scope="module")
def model(models: dict[str, Path]) -> Path:
    return models["jointbert"]


def copy_model(model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model, tmp_path / "copy"))


# --- train --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_train_writes_a_complete_model_folder(fmt: str, models: dict[str, Path], datasets: Datasets) -> None:
    folder = models[fmt]
    assert {path.name for path in folder.iterdir()} >= MODEL_FILES | RUN_FILES
    assert "spm.model" not in {path.name for path in folder.iterdir()}
    metrics = read_json(folder / "metrics.json")
    assert metrics["data"]["format"] == fmt
    assert metrics["data"]["digest"] == load_corpus(datasets.by_format[fmt]).digest
    assert (metrics["data"]["train"], metrics["data"]["dev"], metrics["data"]["test"]) == (32, 6, 4)
    assert metrics["data"]["dev_held_out"] is False
    for split in ("dev", "test"):
        for key in SCORE_KEYS:
            assert 0.0 <= metrics[split][key] <= 1.0
        assert set(metrics[split]["per_slot"]) <= {"dest", "departure", "time"}
    log = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    assert [entry["epoch"] for entry in log] == list(range(1, metrics["epochs_run"] + 1))
    assert 1 <= metrics["best_epoch"] <= metrics["epochs_run"] <= 3
    assert (folder / "training_curves.png").read_bytes().startswith(PNG_MAGIC)
    predictor = Predictor.load(folder, device="cpu")
    assert predictor.config.intents == ("airfare", "flight")
    assert predictor.config.hidden_size == 8 and predictor.config.encoders == ("word", "trigram")


def test_train_distils_two_members_into_one_network(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = datasets.by_format["jointbert"]
    two = [*SMALL, "--members", "2"]
    out = tmp_path / "student"
    argv = ("train", "--data", data, "--out", out, *two, "--epochs", "3", "--seed", "3", "--distill", "0.5")
    outcome = cli(capsys, *argv)
    assert outcome.code == 0, outcome.err
    assert "one network distilled from 2 averaged, whose test slot F1 was" in outcome.out
    config = read_json(out / "config.json")
    assert config["model"]["members"] == 1 and config["training"]["settings"]["distill"] == 0.5
    assert not any(name.startswith("members.") for name in load_file(str(out / WEIGHTS)))
    assert Predictor.load(out, device="cpu").backend == "onnx"


def test_train_makes_one_network_by_default(datasets: Datasets, tmp_path: Path) -> None:
    default = [arg for arg in SMALL if arg not in ("--members", "1")]
    assert len(default) == len(SMALL) - 2
    out = train(datasets.by_format["jointbert"], tmp_path / "single", *default)
    metrics = read_json(out / "metrics.json")
    assert "members" not in metrics and "student" not in metrics
    config = read_json(out / "config.json")
    assert config["model"]["members"] == 1 and config["training"]["settings"]["members"] == 1
    assert not any(name.startswith("members.") for name in load_file(str(out / WEIGHTS)))


def test_train_makes_an_ensemble_of_two_with_members_2(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = datasets.by_format["jointbert"]
    two = [*SMALL, "--members", "2"]
    out = tmp_path / "ensemble"
    outcome = cli(capsys, "train", "--data", data, "--out", out, *two, "--epochs", "15", "--seed", "3")
    assert outcome.code == 0, outcome.err
    config = read_json(out / "config.json")
    assert config["model"]["members"] == 2 and config["training"]["settings"]["members"] == 2
    assert [m["seed"] for m in read_json(out / "metrics.json")["members"]] == [3, 4]
    weights = load_file(str(out / WEIGHTS))
    assert {name.split(".")[1] for name in weights if name.startswith("members.")} == {"0", "1"}
    assert {tensor.dtype for tensor in weights.values()} == {torch.float16}
    texts = ["arrive taipei on november 2nd"]
    parses = _check_parses(cli(capsys, "predict", out, *texts).out, texts)
    assert parses[0]["slots"] and parses[0]["intent"]["intent"] == "flight"
    assert cli(capsys, "evaluate", out, "--data", data).code == 0


def test_the_format_does_not_change_what_is_learnt(models: dict[str, Path]) -> None:
    metrics = {fmt: read_json(folder / "metrics.json") for fmt, folder in models.items()}
    for fmt in ("conll", "jsonl"):
        assert metrics[fmt]["data"]["digest"] == metrics["jointbert"]["data"]["digest"]
        assert metrics[fmt]["dev"] == metrics["jointbert"]["dev"]
        assert metrics[fmt]["test"] == metrics["jointbert"]["test"]


def test_train_with_sentencepiece_writes_and_uses_spm_model(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = train(
        datasets.by_format["jsonl"],
        tmp_path / "spm",
        *("--encoders", "word,trigram,spm", "--spm-vocab-size", "60", "--spm-dim", "8"),
    )
    config = read_json(folder / "config.json")
    assert config["model"]["encoders"] == ["word", "trigram", "spm"]
    assert "spm.model" in config["files"] and config["subword_size"] > 0
    predictor = Predictor.load(folder, device="cpu")
    assert predictor.featurizer.save()["spm.model"] == (folder / "spm.model").read_bytes()
    assert "spm" in predictor.featurizer.featurize(["taipei"]).bags
    outcome = cli(capsys, "evaluate", folder, "--data", datasets.by_format["jsonl"])
    assert outcome.code == 0
    (folder / "spm.model").unlink()
    assert_error(cli(capsys, "evaluate", folder, "--data", datasets.by_format["jsonl"]), 1, "spm.model")


def test_train_with_word_shapes(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("--encoders", "word,trigram,shape", "--shape-dim", "4")
    folder = train(datasets.by_format["jsonl"], tmp_path / "shape", *argv)
    config = read_json(folder / "config.json")
    assert config["model"]["encoders"] == ["word", "trigram", "shape"] and config["model"]["shape_dim"] == 4
    assert set(config["files"]) == {"model.safetensors", "vocab.json"}  # a shape needs no file
    texts = ["arrive Taipei on November 2nd", "fly from NYC to LA"]
    assert len(_check_parses(cli(capsys, "predict", folder, *texts).out, texts)) == 2
    assert cli(capsys, "evaluate", folder, "--data", datasets.by_format["jsonl"]).code == 0


def test_train_with_a_looped_cell_predicts_and_evaluates(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("--cell", "clockwork", "--clockwork-periods", "1,3", "--num-layers", "2")
    folder = train(datasets.by_format["jsonl"], tmp_path / "clockwork", *argv)
    config = read_json(folder / "config.json")["model"]
    assert config["cell"] == "clockwork" and config["clockwork_periods"] == [1, 3]
    assert any(".layers.1.directions.1." in name for name in load_file(str(folder / WEIGHTS)))
    texts = ["arrive Taipei on November 2nd", "fly from NYC to LA"]
    assert len(_check_parses(cli(capsys, "predict", folder, *texts).out, texts)) == 2
    assert cli(capsys, "evaluate", folder, "--data", datasets.by_format["jsonl"]).code == 0


def test_intent_token_votes_trains_and_saves_a_head_with_the_vote_layer(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = datasets.by_format["jointbert"]
    voting = train(data, tmp_path / "votes", "--intent-token-votes")
    plain = train(data, tmp_path / "plain")
    assert read_json(voting / "config.json")["model"]["intent_token_votes"] is True
    assert read_json(plain / "config.json")["model"]["intent_token_votes"] is False
    assert "intent_head.vote.weight" in load_file(str(voting / WEIGHTS))
    assert not any(name.startswith("intent_head.vote") for name in load_file(str(plain / WEIGHTS)))
    predictor = Predictor.load(voting, device="cpu")
    assert predictor.parse("arrive taipei on november 2nd").intent is not None
    assert cli(capsys, "evaluate", voting, "--data", data).code == 0


def test_without_dev_train_holds_part_of_train_out(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "held_out"
    outcome = cli(capsys, "train", "--data", datasets.no_dev, "--out", out, *SMALL, "--dev-fraction", "0.25")
    assert outcome.code == 0
    metrics = read_json(out / "metrics.json")
    assert metrics["data"]["dev_held_out"] is True
    assert (metrics["data"]["train"], metrics["data"]["dev"], metrics["data"]["test"]) == (24, 8, 4)
    assert metrics["dev"]["utterances"] == 8 and metrics["test"]["utterances"] == 4
    assert metrics["data"]["format"] == "conll"
    last = outcome.out.strip().splitlines()[-1]
    assert last.startswith(f"saved {out} (best epoch {metrics['best_epoch']}): dev slot F1 ")
    assert f"test slot F1 {100 * metrics['test']['slot_f1']:.2f}" in last


class Runs(NamedTuple):
    first_metrics: dict[str, Any]
    first_weights: dict[str, torch.Tensor]
    again: Path  # the same seed, trained again into the same folder
    other_seed: Path


@pytest.fixture(scope="module")
def no_intent_runs(datasets: Datasets, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("no_intent")
    folder = train(datasets.no_label, root / "seed7", "--seed", "7")
    first_metrics = read_json(folder / "metrics.json")
    first_weights = load_file(folder / "model.safetensors")
    train(datasets.no_label, folder, "--seed", "7")
    other = train(datasets.no_label, root / "seed8", "--seed", "8")
    return Runs(first_metrics, first_weights, folder, other)


def test_the_same_data_and_seed_give_the_same_model(no_intent_runs: Runs) -> None:
    metrics = read_json(no_intent_runs.again / "metrics.json")
    for key in ("best_epoch", "epochs_run", "data", "dev", "test"):
        assert metrics[key] == no_intent_runs.first_metrics[key]
    weights = load_file(no_intent_runs.again / "model.safetensors")
    assert weights.keys() == no_intent_runs.first_weights.keys()
    assert all(torch.equal(weights[name], no_intent_runs.first_weights[name]) for name in weights)


def test_another_seed_gives_another_model(no_intent_runs: Runs) -> None:
    weights = load_file(no_intent_runs.other_seed / "model.safetensors")
    assert not all(torch.equal(weights[name], no_intent_runs.first_weights[name]) for name in weights)


def test_training_again_into_a_folder_starts_a_new_log(no_intent_runs: Runs) -> None:
    metrics = read_json(no_intent_runs.again / "metrics.json")
    lines = (no_intent_runs.again / "train_log.jsonl").read_text().splitlines()
    assert len(lines) == metrics["epochs_run"]


def test_data_without_intents_trains_slots_only(
    no_intent_runs: Runs, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = no_intent_runs.again
    assert read_json(folder / "config.json")["model"]["intents"] == []
    metrics = read_json(folder / "metrics.json")
    assert metrics["dev"]["intent_accuracy"] is None and metrics["test"]["intent_accuracy"] is None
    log = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    assert all(entry["dev_intent_accuracy"] is None for entry in log)
    assert "intent_head.weight" not in no_intent_runs.first_weights
    outcome = cli(capsys, "predict", folder, "arrive taipei on monday")
    assert outcome.code == 0
    assert json.loads(outcome.out)["intent"] is None


def start_slotfill(*argv: str) -> subprocess.Popen[str]:
    """``slotfill ARGV`` in a child process, on one thread, that a SIGINT reaches as Ctrl-C would.

    A run started in the background of a script (``make test &`` in a CI script, say) inherits
    SIGINT ignored, and so would the child: Python then installs no KeyboardInterrupt handler, and
    the tests' SIGINT would do nothing. A handled signal starts at its default in a child, so one
    is handled here while the child starts.
    """
    command = [sys.executable, "-m", "slotfill", *argv]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow
def test_ctrl_c_saves_the_best_epoch_so_far_and_exits_130(datasets: Datasets, tmp_path: Path) -> None:
    """A real SIGINT to a real ``slotfill train``: an hour of training is not lost to one keypress."""
    out = tmp_path / "stopped"
    argv = ["train", "--data", str(datasets.by_format["jointbert"]), "--out", str(out), *SMALL]
    process = start_slotfill(*argv, "--epochs", "5000", "--patience", "5000")
    log, deadline = out / "train_log.jsonl", time.monotonic() + 120
    while not (log.is_file() and len(log.read_text().splitlines()) >= 2):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "training never logged two epochs"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted after" in stderr and "saved the best epoch so far" in stderr
    metrics = read_json(out / "metrics.json")
    assert metrics["interrupted"] is True
    assert 2 <= metrics["epochs_run"] < 5000 and metrics["best_epoch"] <= metrics["epochs_run"]
    assert f"saved {out} (best epoch {metrics['best_epoch']})" in stdout
    assert Predictor.load(out, "cpu").tag([["arrive", "taipei"]])[0].tags


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _start_parallel_ensemble(data: Path, out: Path, members: int = 2) -> subprocess.Popen[str]:
    """``slotfill train`` with ``members`` members in two worker processes, running until stopped;
    returns once the first two members have logged two epochs."""
    argv = ["train", "--data", str(data), "--out", str(out), *SMALL, "--members", str(members), "--jobs", "2"]
    process = start_slotfill(*argv, "--epochs", "5000", "--patience", "5000")
    log, deadline = out / "train_log.jsonl", time.monotonic() + 120
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
        if all(sum(line["member"] == m for line in lines) >= 2 for m in (0, 1)):
            return process
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the members never logged two epochs each"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("members", [2, 3])
def test_ctrl_c_stops_members_training_in_parallel_and_keeps_them(
    members: int, datasets: Datasets, tmp_path: Path
) -> None:
    """Those training stop after their epoch and are kept; a third, still waiting for one of the
    two processes, is dropped."""
    out = tmp_path / "stopped"
    process = _start_parallel_ensemble(datasets.by_format["jointbert"], out, members)
    process.send_signal(signal.SIGINT)  # to the training process alone, not to its workers
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    metrics = read_json(out / "metrics.json")
    assert metrics["interrupted"] is True
    assert [m["epochs_run"] >= 2 for m in metrics["members"]] == [True, True]
    assert Predictor.load(out, "cpu").config.members == 2
    assert "not started are dropped" in stderr if members == 3 else "dropped" not in stderr


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="finds worker processes in /proc")
@pytest.mark.slow
def test_members_stop_when_their_training_process_is_killed(datasets: Datasets, tmp_path: Path) -> None:
    process = _start_parallel_ensemble(datasets.by_format["jointbert"], tmp_path / "killed")
    workers = [
        pid for pid in _children(process.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()
    ]
    assert len(workers) == 2
    process.kill()
    process.communicate(timeout=30)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and "spawn_main" in _cmdline(pid) for pid in workers):
        assert time.monotonic() < deadline, "a member kept training after its training process was killed"
        time.sleep(0.1)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def test_calibration_changes_confidences_not_predictions(
    datasets: Datasets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Temperatures fitted on dev go into config.json and change confidences only."""
    # The tiny dev set is below the minimum that real training asks of dev; let it speak here.
    fit = functools.partial(slotfill.training.pipeline.fit_temperatures, minimum=1)
    monkeypatch.setattr(slotfill.training.pipeline, "fit_temperatures", fit)
    data = datasets.by_format["jointbert"]
    calibrated = train(data, tmp_path / "calibrated", "--seed", "3")
    plain = train(data, tmp_path / "plain", "--seed", "3", "--no-calibrate")
    fitted = read_json(calibrated / "config.json")["model"]
    kept = read_json(plain / "config.json")["model"]
    assert (kept["slot_temperature"], kept["intent_temperature"]) == (1.0, 1.0)
    assert (fitted["slot_temperature"], fitted["intent_temperature"]) != (1.0, 1.0)
    assert read_json(plain / "config.json")["training"]["settings"]["calibrate"] is False
    for split in ("dev", "test"):
        a, b = read_json(calibrated / "metrics.json")[split], read_json(plain / "metrics.json")[split]
        assert {key: a[key] for key in SCORE_KEYS} == {key: b[key] for key in SCORE_KEYS}
        assert a["slot_predicted"] == b["slot_predicted"]
    texts = [" ".join(e.tokens) for e in TEST]
    ours, theirs = (Predictor.load(folder, "cpu").parse_batch(texts) for folder in (calibrated, plain))
    assert [p.tags for p in ours] == [p.tags for p in theirs]
    assert [p.intent and p.intent.intent for p in ours] == [p.intent and p.intent.intent for p in theirs]

    def confidences(parses: list[Parse]) -> list[float]:
        return [
            c
            for p in parses
            for c in [s.confidence for s in p.slots] + [p.intent.confidence if p.intent else 0]
        ]

    assert confidences(ours) != confidences(theirs)


def test_early_stopping_stops_before_the_last_epoch(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "patience"
    argv = ("train", "--data", datasets.by_format["jointbert"], "--out", out, *SMALL)
    outcome = cli(
        capsys,
        *argv,
        "--epochs",
        "40",
        "--patience",
        "1",
        "--lr",
        "0.002",
        "--clip-norm",
        "0",
        "--slot-swap",
        "0.25",
        "--intent-weight",
        "0.5",
        "--intent-smoothing",
        "0.1",
        "--ema",
        "0.5",
    )
    assert outcome.code == 0
    metrics = read_json(out / "metrics.json")
    assert metrics["epochs_run"] < 40 and metrics["interrupted"] is False
    assert metrics["epochs_run"] == metrics["best_epoch"] + 1
    assert len((out / "train_log.jsonl").read_text().splitlines()) == metrics["epochs_run"]
    settings = read_json(out / "config.json")["training"]["settings"]
    chosen = ("epochs", "patience", "clip_norm", "slot_swap", "intent_weight", "intent_smoothing", "ema")
    assert tuple(settings[name] for name in chosen) == (40, 1, 0.0, 0.25, 0.5, 0.1, 0.5)


# --- evaluate -----------------------------------------------------------------------------------------


def test_evaluate_prints_a_table_and_writes_the_test_scores_of_training(
    model: Path, datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    outcome = cli(capsys, "evaluate", model, "--data", datasets.by_format["jointbert"], "--report", report)
    assert outcome.code == 0
    for row in ("dest", "departure", "time", "all slots (micro)", "intent accuracy", "sentence accuracy"):
        assert row in outcome.out
    scores = read_json(report)
    test = read_json(model / "metrics.json")["test"]
    for key in SCORE_KEYS:
        assert 0.0 <= scores[key] <= 1.0
        assert scores[key] == test[key]
    assert scores["per_slot"] == test["per_slot"]
    assert set(scores["per_slot"]["dest"]) == {"precision", "recall", "f1", "gold", "predicted", "correct"}
    assert scores["per_slot"]["time"]["gold"] == 2
    assert (scores["utterances"], scores["split"], scores["model"]) == (4, "test", str(model))
    assert f"{100 * test['slot_f1']:.2f}" in outcome.out
    # The calibration of the confidences, as metrics.json has it and the table prints it.
    for kind, count in (("intent", 4), ("slot", scores["slot_predicted"])):
        measured = scores[f"{kind}_calibration"]
        assert same_scores(measured, test[f"{kind}_calibration"])
        assert measured["count"] == count and sum(b["count"] for b in measured["bins"]) == count
        assert f"{kind} calibration error" in outcome.out


def test_evaluate_on_dev_gives_the_dev_scores_of_the_best_epoch(
    model: Path, datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "dev.json"
    data = datasets.by_format["jointbert"]
    argv = ("evaluate", model, "--data", data, "--split", "dev", "--format", "jointbert", "--report", report)
    assert cli(capsys, *argv).code == 0
    dev = read_json(model / "metrics.json")["dev"]
    assert same_scores({key: value for key, value in read_json(report).items() if key in dev}, dev)


@pytest.mark.parametrize("fmt", ["conll", "jsonl"])
def test_evaluate_reads_any_format(
    fmt: str, model: Path, datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    assert cli(capsys, "evaluate", model, "--data", datasets.by_format[fmt], "--report", report).code == 0
    test = read_json(model / "metrics.json")["test"]
    assert same_scores({key: value for key, value in read_json(report).items() if key in test}, test)


def test_evaluate_writes_predictions_that_rescore_to_the_same_f1(
    model: Path, datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    predictions, report = tmp_path / "test.conll", tmp_path / "report.json"
    argv = ("evaluate", model, "--data", datasets.by_format["conll"], "--report", report)
    assert cli(capsys, *argv, "--predictions", predictions).code == 0
    blocks = predictions.read_text(encoding="utf-8").split("\n\n")
    assert blocks[-1] == ""  # a blank line after every utterance, the last one included
    assert len(blocks[:-1]) == len(TEST)
    for block, example in zip(blocks, TEST, strict=False):
        rows = [line.split() for line in block.splitlines()]
        assert all(len(row) == 3 for row in rows)
        assert [row[0] for row in rows] == list(example.tokens)
        assert [row[1] for row in rows] == list(example.tags)
    read = read_predictions(predictions)
    assert score(read.gold, read.predicted).slot.f1 == read_json(report)["slot_f1"]


def test_evaluate_lists_intent_errors_and_intents_the_model_never_saw(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    unseen = [*TEST[:3], replace(TEST[3], intent="greeting")]
    write_split(unseen, tmp_path / "data", "test", "jointbert")
    report = tmp_path / "report.json"
    outcome = cli(capsys, "evaluate", model, "--data", tmp_path / "data", "--report", report)
    assert outcome.code == 0
    warning = "1 of 4 utterances have an intent the model has no label for (greeting: 1)"
    assert any(warning in record.getMessage() for record in caplog.records if record.levelname == "WARNING")
    assert "most frequent intent errors" in outcome.out
    assert "greeting (not a model label)" in outcome.out
    scores = read_json(report)
    assert scores["unknown_intents"] == {"greeting": 1}
    assert {
        "gold": "greeting",
        "predicted": scores["intent_confusions"][0]["predicted"],
        "count": 1,
    } in scores["intent_confusions"]
    assert sum(c["count"] for c in scores["intent_confusions"]) == round(4 * (1 - scores["intent_accuracy"]))


@pytest.fixture(scope="module")
def label_map(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("label_map") / "map.json"
    path.write_text(json.dumps({"dest": "city", "departure": "city"}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mapped_model(datasets: Datasets, label_map: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mapped") / "model"
    return train(datasets.by_format["jointbert"], out, "--label-map", label_map)


def test_train_with_a_label_map_learns_the_mapped_labels(mapped_model: Path) -> None:
    config = read_json(mapped_model / "config.json")
    assert config["model"]["slot_tags"] == ["O", "B-city", "I-city", "B-time", "I-time"]
    metrics = read_json(mapped_model / "metrics.json")
    assert {label for split in ("dev", "test") for label in metrics[split]["per_slot"]} <= {"city", "time"}
    assert metrics["test"]["slot_gold"] == 7


def test_evaluate_with_the_label_map_scores_mapped_labels(
    mapped_model: Path,
    label_map: Path,
    datasets: Datasets,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mapped, raw = tmp_path / "mapped.json", tmp_path / "raw.json"
    data = datasets.by_format["jsonl"]
    argv = ("evaluate", mapped_model, "--data", data)
    assert cli(capsys, *argv, "--label-map", label_map, "--report", mapped).code == 0
    test = read_json(mapped_model / "metrics.json")["test"]
    assert same_scores({key: value for key, value in read_json(mapped).items() if key in test}, test)
    assert cli(capsys, *argv, "--report", raw).code == 0
    per_slot = read_json(raw)["per_slot"]
    assert per_slot["dest"]["gold"] == 3 and per_slot["departure"]["gold"] == 2
    assert per_slot.get("city", {"gold": 0})["gold"] == 0


# --- predict ------------------------------------------------------------------------------------------


def _check_parses(output: str, texts: Sequence[str]) -> list[dict[str, Any]]:
    parses = [json.loads(line) for line in output.splitlines()]
    assert [parse["text"] for parse in parses] == list(texts)
    for parse, text in zip(parses, texts, strict=True):
        assert len(parse["tags"]) == len(parse["tokens"])
        for token in parse["tokens"]:
            assert text[token["start"] : token["end"]] == token["text"]
        for slot in parse["slots"]:
            assert text[slot["start"] : slot["end"]] == slot["value"]
            assert slot["slot"] in {"dest", "departure", "time"}
            assert 0.0 <= slot["confidence"] <= 1.0
        if parse["tokens"]:
            assert parse["intent"]["intent"] in {"flight", "airfare"}
    return parses


def test_predict_tags_texts_given_as_arguments(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts = ["arrive Taipei on November 2nd", "  Leave Boston, on  Friday!", "fly from São Paulo to Tokyo"]
    outcome = cli(capsys, "predict", model, *texts)
    assert outcome.code == 0
    parses = _check_parses(outcome.out, texts)
    assert any(parse["slots"] for parse in parses)
    assert [t["text"] for t in parses[1]["tokens"]] == ["Leave", "Boston", ",", "on", "Friday", "!"]


def test_predict_reads_one_text_per_line_from_stdin(
    model: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["arrive taipei on november 2nd", "", "leave denver on monday"]
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{text}\n" for text in texts)))
    outcome = cli(capsys, "predict", model)
    assert outcome.code == 0
    parses = _check_parses(outcome.out, texts)
    assert parses[1] == {"text": "", "tokens": [], "tags": [], "slots": [], "intent": None}
    direct = _check_parses(cli(capsys, "predict", model, texts[0]).out, texts[:1])
    # The same answer as alone; confidences only to float precision, since a batch of another
    # shape may sum in another order.
    batched, alone = parses[0], direct[0]
    assert {**batched, "slots": None, "intent": None} == {**alone, "slots": None, "intent": None}
    for got, want in zip(
        [*batched["slots"], batched["intent"]], [*alone["slots"], alone["intent"]], strict=True
    ):
        assert {**got, "confidence": 0} == {**want, "confidence": 0}
        assert got["confidence"] == pytest.approx(want["confidence"], abs=1e-5)


def test_export_onnx_then_predict_with_either_backend(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    text = "arrive Taipei on November 2nd"
    outcome = cli(capsys, "export", folder, "--onnx")
    assert outcome.code == 0
    assert "model.onnx" in outcome.out
    answers = {}
    for backend in ("torch", "onnx", "auto"):
        outcome = cli(capsys, "predict", folder, text, "--backend", backend)
        assert outcome.code == 0
        answers[backend] = _check_parses(outcome.out, [text])[0]
    for backend in ("onnx", "auto"):
        assert answers[backend]["tags"] == answers["torch"]["tags"]


def test_export_onnx_with_int8_weights(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    outcome = cli(capsys, "export", folder, "--onnx", "--int8")
    assert outcome.code == 0
    assert "int8 weights" in outcome.out
    outcome = cli(capsys, "predict", folder, "arrive Taipei on November 2nd", "--backend", "onnx")
    assert outcome.code == 0
    assert _check_parses(outcome.out, ["arrive Taipei on November 2nd"])


def test_train_exports_the_graph_that_auto_serves(model: Path) -> None:
    assert Predictor.load(model, device="cpu").backend == "onnx"


def test_predict_with_the_onnx_backend_before_any_export(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = shutil.copytree(model, tmp_path / "model")
    (plain / "model.onnx").unlink()
    (plain / "onnx.json").unlink()
    outcome = cli(capsys, "predict", plain, "fly to Paris", "--backend", "onnx")
    assert_error(outcome, 1, "no ONNX export here; run `slotfill export MODEL_DIR --onnx` first")


def test_export_needs_a_format_and_a_model_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:  # argparse: --onnx is required
        main(["export", str(tmp_path)])
    assert exited.value.code == 2
    assert_error(cli(capsys, "export", tmp_path / "nowhere", "--onnx"), 1, "no such model folder")


# --- errors -------------------------------------------------------------------------------------------


def test_train_on_a_missing_data_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    outcome = cli(capsys, "train", "--data", missing, "--out", tmp_path / "out", *SMALL)
    assert_error(outcome, 1, f"{missing}: data directory not found")
    assert not (tmp_path / "out").exists()


def test_evaluate_on_a_missing_data_folder(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert_error(cli(capsys, "evaluate", model, "--data", missing), 1, f"{missing}: data directory not found")


def test_token_tag_mismatch_names_file_and_line(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = Path(shutil.copytree(datasets.by_format["jointbert"], tmp_path / "data"))
    seq_out = data / "train" / "seq.out"
    lines = seq_out.read_text(encoding="utf-8").splitlines()
    lines[2] += " O"
    seq_out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = cli(capsys, "train", "--data", data, "--out", tmp_path / "out", *SMALL)
    assert_error(outcome, 1, f"{seq_out}:3: 6 tags for 5 tokens")


def test_a_bad_tag_in_conll_names_file_and_line(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = Path(shutil.copytree(datasets.by_format["conll"], tmp_path / "data"))
    test_file = data / "test.conll"
    lines = test_file.read_text(encoding="utf-8").splitlines()
    assert lines[2] == "denver B-dest"
    lines[2] = "denver X-dest"
    test_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = cli(capsys, "train", "--data", data, "--out", tmp_path / "out", *SMALL)
    assert_error(outcome, 1, f"{test_file}:3:", "'denver'", "X-dest")


def test_two_formats_in_one_folder_are_refused(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = cli(capsys, "train", "--data", datasets.mixed, "--out", tmp_path / "out", *SMALL)
    assert_error(outcome, 1, "ambiguous data directory", "train.conll", "train.jsonl", "pass the format")


def test_format_option_picks_one_of_two_formats(
    model: Path, datasets: Datasets, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("evaluate", model, "--data", datasets.mixed, "--split", "train", "--format", "conll")
    assert cli(capsys, *argv).code == 0


def test_a_format_the_folder_does_not_hold(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("train", "--data", datasets.by_format["conll"], "--format", "jsonl", "--out", tmp_path / "out")
    assert_error(cli(capsys, *argv, *SMALL), 1, "no train split found for format 'jsonl'")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("word,bert", "--encoders.1: Input should be 'word', 'trigram', 'spm' or 'shape', got 'bert'"),
        (",", "--encoders.0: Input should be 'word', 'trigram', 'spm' or 'shape', got ''"),
        ("Word", "--encoders.0: Input should be 'word', 'trigram', 'spm' or 'shape', got 'Word'"),
    ],
)
def test_bad_encoders_are_a_usage_error(
    value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = cli(capsys, "train", "--data", tmp_path, "--out", tmp_path / "out", "--encoders", value)
    assert_error(outcome, 2, message)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--dropout", "1.5", ("--dropout: Input should be less than 1, got '1.5'",)),
        ("--word-dropout", "-0.1", ("--word-dropout: Input should be greater than", "got '-0.1'")),
        ("--hidden-size", "0", ("--hidden-size: Input should be greater than or equal to 1, got '0'",)),
        ("--hidden-size", "2.5", ("--hidden-size: Input should be a valid integer", "got '2.5'")),
        ("--num-layers", "0", ("--num-layers:", "got '0'")),
        ("--trigram-buckets", "0", ("--trigram-buckets:", "got '0'")),
        ("--spm-vocab-size", "0", ("--spm-vocab-size:", "got '0'")),
        ("--encoders", "word,word", ("--encoders: encoders repeat a name: word,word",)),
        ("--cell", "transformer", ("--cell: Input should be 'lstm', 'gru'", "got 'transformer'")),
        ("--clockwork-periods", "2,1", ("--clockwork-periods: must be distinct and ascending",)),
        ("--scrn-context-share", "1", ("--scrn-context-share: Input should be less than 1",)),
        ("--epochs", "0", ("--epochs: Input should be greater than or equal to 1, got '0'",)),
        ("--batch-size", "0", ("--batch-size:", "got '0'")),
        ("--patience", "0", ("--patience:", "got '0'")),
        ("--lr", "0", ("--lr: Input should be greater than 0, got '0'",)),
        ("--clip-norm", "-1", ("--clip-norm: Input should be greater than or equal to 0, got '-1'",)),
        ("--slot-swap", "1.5", ("--slot-swap: Input should be less than or equal to 1, got '1.5'",)),
        ("--intent-weight", "-2", ("--intent-weight:", "got '-2'")),
        ("--intent-smoothing", "1", ("--intent-smoothing: Input should be less than 1, got '1'",)),
        ("--ema", "1", ("--ema: Input should be less than 1, got '1'",)),
        ("--device", "tpu", ("--device: device must be one of", "got 'tpu'")),
        ("--dev-fraction", "1", ("--dev-fraction must be between 0 and 1, got 1.0",)),
        ("--dev-fraction", "0", ("--dev-fraction must be between 0 and 1, got 0.0",)),
    ],
)
def test_invalid_settings_are_refused_before_any_data_is_read(
    option: str, value: str, message: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The data folder does not exist: the setting must be the error reported.
    argv = ("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "out", option, value)
    assert_error(cli(capsys, *argv), 2, *message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["evaluate", "predict"])
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("delete weights", "model.safetensors: missing (listed in config.json)"),
        ("tamper vocab", "vocab.json: changed since training"),
        ("delete config", "config.json: missing"),
    ],
)
def test_a_corrupt_model_folder_is_refused_naming_the_file(
    command: str,
    damage: str,
    message: str,
    model: Path,
    datasets: Datasets,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = copy_model(model, tmp_path)
    if damage == "delete weights":
        (folder / "model.safetensors").unlink()
    elif damage == "tamper vocab":
        words = read_json(folder / "vocab.json")
        (folder / "vocab.json").write_text(json.dumps([*words, "atlantis"]), encoding="utf-8")
    else:
        (folder / "config.json").unlink()
    extra = ("--data", datasets.by_format["jointbert"]) if command == "evaluate" else ("hello",)
    line = assert_error(cli(capsys, command, folder, *extra), 1, message)
    assert str(folder) in line


def test_evaluate_on_a_split_that_does_not_exist(
    model: Path, datasets: Datasets, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = cli(capsys, "evaluate", model, "--data", datasets.by_format["jointbert"], "--split", "valid")
    assert_error(outcome, 1, "split 'valid' not found (jointbert format); available splits: train, dev, test")


def test_a_missing_label_map_is_named(
    model: Path, datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "map.json"
    argv = ("evaluate", model, "--data", datasets.by_format["jointbert"], "--label-map", missing)
    assert_error(cli(capsys, *argv), 1, f"{missing}: cannot read label map")


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_cuda_on_a_cpu_only_machine(
    command: str, model: Path, datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ("--data", datasets.by_format["jointbert"])
    argv = {
        "train": ("train", *data, "--out", tmp_path / "out", *SMALL),
        "evaluate": ("evaluate", model, *data),
        "predict": ("predict", model, "hello"),
    }[command]
    assert_error(cli(capsys, *argv, "--device", "cuda"), 2, "CUDA is not available")


# --- known bugs: each should be a one-line error, and is a traceback today ---------------------------


def test_out_naming_a_file_is_an_error(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "model"
    afile.write_text("not a folder")
    outcome = cli(capsys, "train", "--data", datasets.by_format["jointbert"], "--out", afile, *SMALL)
    assert_error(outcome, 1, str(afile))


def test_report_naming_a_folder_is_an_error(
    model: Path, datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = cli(capsys, "evaluate", model, "--data", datasets.by_format["jointbert"], "--report", tmp_path)
    assert_error(outcome, 1, str(tmp_path))


def test_a_bad_subword_vocabulary_size_is_refused(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("train", "--data", datasets.by_format["jointbert"], "--out", tmp_path / "out", *SMALL)
    outcome = cli(capsys, *argv, "--encoders", "word,spm", "--spm-vocab-size", "5")
    assert_error(outcome, 2, "vocab")


def test_a_dev_fraction_leaving_no_training_data_is_refused(
    datasets: Datasets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("train", "--data", datasets.no_dev, "--out", tmp_path / "out", *SMALL, "--dev-fraction", "0.99")
    assert_error(cli(capsys, *argv), 1, "--dev-fraction")


def test_generate_writes_the_travel_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sizes = ["--train", "40", "--dev", "5", "--test", "5", "--unseen", "5"]
    assert main(["generate", "--out", str(tmp_path / "a"), *sizes]) == 0
    assert "train 40, dev 5, test 5, unseen 5" in capsys.readouterr().out
    corpus = load_corpus(tmp_path / "a")
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (40, 5, 5)
    assert main(["generate", "--out", str(tmp_path / "b"), *sizes]) == 0
    for split in ("train", "dev", "test", "unseen"):
        name = f"{split}.jsonl"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert main(["generate", "--out", str(tmp_path / "c"), "--seed", "1", *sizes]) == 0
    assert (tmp_path / "a" / "train.jsonl").read_bytes() != (tmp_path / "c" / "train.jsonl").read_bytes()


@pytest.mark.parametrize("size", ["0", "-3", "many"])
def test_generate_refuses_a_bad_size(tmp_path: Path, size: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--out", str(tmp_path), "--train", size])
    assert exit_info.value.code == 2
    assert "--train" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--out", "--data"])
def test_build_default_refuses_a_file_for_a_folder(
    tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["build-default", option, str(blocker), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("slotfill: error:") and "a-file" in err and "not a folder" in err


@pytest.mark.slow
def test_build_default_leaves_a_usable_model_alone(
    default_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "default"
    shutil.copytree(default_model_dir, copy)
    assert main(["build-default", "--out", str(copy), "--data", str(tmp_path / "data"), "--quiet"]) == 0
    assert "is ready" in capsys.readouterr().out
    assert not (tmp_path / "data").exists()


def test_a_cell_that_does_not_fit_its_units_is_refused_naming_both_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "out")
    outcome = cli(capsys, *argv, "--cell", "clockwork", "--hidden-size", "3")
    assert_error(outcome, 2, "--clockwork-periods: 4 modules need at least as many units", "hidden_size is 3")
