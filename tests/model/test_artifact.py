"""The model folder: a faithful round trip, and a clear refusal, naming the file, of anything else."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from slotfill.model.artifact import (
    CONFIG,
    WEIGHTS,
    ArtifactError,
    load_artifact,
    save_artifact,
    sha256_file,
)
from slotfill.model.batch import Featurizer
from slotfill.model.config import ModelConfig, ModelOptions
from slotfill.model.encoders.subword import SUBWORDS_FILE as SUBWORDS
from slotfill.model.encoders.subword import SubwordEncoder, SubwordModel
from slotfill.model.encoders.trigram import TrigramEncoder
from slotfill.model.encoders.vocab import VOCAB_FILE as VOCAB
from slotfill.model.ensemble import TaggerEnsemble, member_config
from slotfill.model.predictor import Predictor
from slotfill.model.tagger import SlotTagger
from slotfill.training.builder import build_model
from slotfill.training.config import TrainConfig
from slotfill.training.data import Example
from slotfill.training.seeding import seed_everything
from slotfill.training.trainer import fit

CPU = torch.device("cpu")
SENTENCES = [["Arrive", "TAIPEI", "on", "November", "2nd"], ["fly", "from", "NYC", "to", "LA", "at", "6:30"]]
TEXTS = [
    "arrive taipei on november 2nd",
    "leave taipei on november 2nd",
    "fly from boston to denver",
    "how much is a ticket from paris to tokyo?",
    "Arrive ＴＡＩＰＥＩ tomorrow",
    "x",
    "",
]


@pytest.fixture
def folder(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the trained model folder, free to tamper with."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def readings(predictor: Predictor) -> list[tuple[Any, ...]]:
    return [
        (p.tags, predictor.tag([[t.text for t in p.tokens]])[0].confidences, p.intent, p.slots)
        for p in predictor.parse_batch(TEXTS)
    ]


def edit_config(folder: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    edit(config)
    (folder / CONFIG).write_text(json.dumps(config), encoding="utf-8")


def redigest(folder: Path, name: str) -> None:
    """Make config.json vouch for the current bytes of ``name`` (a forger who edits both)."""
    edit_config(folder, lambda c: c["files"].__setitem__(name, sha256_file(folder / name)))


def test_round_trip_gives_identical_predictions(
    tiny_predictor: Predictor, folder: Path, tmp_path: Path
) -> None:
    artifact = load_artifact(folder)
    resaved = tmp_path / "resaved"
    save_artifact(resaved, artifact.model, artifact.featurizer)
    again = Predictor.load(resaved, device="cpu")
    assert readings(again) == readings(tiny_predictor)
    original, copy = tiny_predictor.model.state_dict(), again.model.state_dict()
    assert original.keys() == copy.keys()
    assert all(torch.equal(original[k], copy[k]) for k in original)
    assert again.featurizer.save() == tiny_predictor.featurizer.save()
    assert again.config == tiny_predictor.config


def test_saved_folder_layout(tiny_model_dir: Path) -> None:
    assert sorted(p.name for p in tiny_model_dir.iterdir()) == [CONFIG, WEIGHTS, VOCAB]  # no temp files left
    for path in tiny_model_dir.iterdir():  # readable by the service's user, not just the trainer's
        assert path.stat().st_mode & 0o777 == 0o644, path
    config = json.loads((tiny_model_dir / CONFIG).read_text(encoding="utf-8"))
    assert config["format"] == "slotfill-tagger"
    assert config["format_version"] == 1
    assert {"torch", "safetensors", "python"} <= set(config["versions"])
    assert ModelConfig.from_dict(config["model"]).hidden_size == 16
    for name in (WEIGHTS, VOCAB):
        assert config["files"][name] == hashlib.sha256((tiny_model_dir / name).read_bytes()).hexdigest()
    assert config["vocab_size"] == len(json.loads((tiny_model_dir / VOCAB).read_text(encoding="utf-8"))) + 2
    assert all(isinstance(t, torch.Tensor) for t in load_file(str(tiny_model_dir / WEIGHTS)).values())


def test_metadata(tiny_predictor: Predictor, tmp_path: Path) -> None:
    artifact_dir = tmp_path / "with-metrics"
    save_artifact(
        artifact_dir,
        tiny_predictor.model,
        tiny_predictor.featurizer,
        training={"epochs": 3},
        metrics={"dev": {"slot_f1": 0.5}},
    )
    metadata = load_artifact(artifact_dir).metadata
    assert metadata.id == "with-metrics"
    assert metadata.digest == sha256_file(artifact_dir / WEIGHTS)
    assert metadata.version == metadata.digest[:12]
    assert metadata.training == {"epochs": 3}
    assert metadata.metrics == {"dev": {"slot_f1": 0.5}}
    assert metadata.versions["torch"] == torch.__version__


def test_weights_are_kept_in_the_configs_precision(tiny_predictor: Predictor, tmp_path: Path) -> None:
    """float16 by default: half the bytes, and the model saved is the model that was scored (the
    save rounds the weights in memory first, so predictions before and after loading agree)."""
    model, featurizer = tiny_predictor.model, tiny_predictor.featurizer
    assert model.config.weights_dtype == "float16"
    save_artifact(tmp_path / "half", model, featurizer)
    assert {t.dtype for t in load_file(str(tmp_path / "half" / WEIGHTS)).values()} == {torch.float16}
    wide = SlotTagger(model.config.replace(weights_dtype="float32"), featurizer.sizes)
    wide.load_state_dict(model.state_dict())
    save_artifact(tmp_path / "full", wide, featurizer)
    assert {t.dtype for t in load_file(str(tmp_path / "full" / WEIGHTS)).values()} == {torch.float32}
    half_size, full_size = ((tmp_path / n / WEIGHTS).stat().st_size for n in ("half", "full"))
    assert half_size < 0.6 * full_size


def test_saving_rounds_the_model_in_memory_to_what_is_stored(tiny_model_dir: Path, tmp_path: Path) -> None:
    artifact = load_artifact(tiny_model_dir)
    model, featurizer = artifact.model, artifact.featurizer
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.add_(1e-4)  # no longer representable in float16
    before = Predictor(model, featurizer, torch.device("cpu"))
    save_artifact(tmp_path / "rounded", model, featurizer)
    assert all(torch.equal(t, t.half().float()) for t in model.state_dict().values())
    assert readings(Predictor.load(tmp_path / "rounded", device="cpu")) == readings(before)


def test_an_ensemble_round_trip_gives_identical_predictions(
    tiny_predictor: Predictor, tmp_path: Path
) -> None:
    single = tiny_predictor.model
    config = single.config.replace(members=2, slot_temperature=1.3)
    torch.manual_seed(1)
    other = SlotTagger(member_config(config), tiny_predictor.featurizer.sizes)
    first = SlotTagger(member_config(config), tiny_predictor.featurizer.sizes)
    first.load_state_dict(single.state_dict())
    ensemble = TaggerEnsemble(config, [first, other]).eval()
    save_artifact(tmp_path / "ensemble", ensemble, tiny_predictor.featurizer)
    before = Predictor(ensemble, tiny_predictor.featurizer, torch.device("cpu"))
    after = Predictor.load(tmp_path / "ensemble", device="cpu")
    assert isinstance(after.model, TaggerEnsemble)
    assert after.config == config
    assert readings(after) == readings(before)
    assert readings(after) != readings(tiny_predictor)  # the second member counts


def test_round_trip_with_sentencepiece(tmp_path: Path) -> None:
    sentences = [["fly", "to", "taipei"], ["leave", "boston", "today"]] * 3
    config = ModelConfig(
        slot_tags=("O", "B-dest", "I-dest"),
        encoders=("trigram", "spm"),
        trigram_dim=4,
        trigram_buckets=64,
        spm_dim=4,
        spm_vocab_size=30,
        hidden_size=4,
    )
    subwords = SubwordModel.train(sentences, config.spm_vocab_size)
    torch.manual_seed(0)
    featurizer = Featurizer(config, [TrigramEncoder(64), SubwordEncoder(subwords)])
    model = SlotTagger(config, featurizer.sizes)
    save_artifact(tmp_path / "spm", model, featurizer)
    assert (tmp_path / "spm" / SUBWORDS).read_bytes() == subwords.model_proto
    before = Predictor(model, featurizer, torch.device("cpu"))
    after = Predictor.load(tmp_path / "spm", device="cpu")
    assert after.featurizer.save() == {SUBWORDS: subwords.model_proto}
    assert readings(after) == readings(before)
    # The sentencepiece model is vouched for like the weights.
    (tmp_path / "spm" / SUBWORDS).write_bytes(subwords.model_proto + b"\0")
    with pytest.raises(ArtifactError, match="SHA-256") as caught:
        load_artifact(tmp_path / "spm")
    assert caught.value.path == tmp_path / "spm" / SUBWORDS
    redigest(tmp_path / "spm", SUBWORDS)
    (tmp_path / "spm" / SUBWORDS).write_bytes(b"not a sentencepiece model")
    redigest(tmp_path / "spm", SUBWORDS)
    with pytest.raises(ArtifactError, match="sentencepiece") as caught:
        load_artifact(tmp_path / "spm")
    assert caught.value.path == tmp_path / "spm" / SUBWORDS


def test_round_trip_with_word_shapes(
    tiny_settings: ModelOptions, travel_data: tuple[list[Example], list[Example]], tmp_path: Path
) -> None:
    """The shape encoder has no file of its own: config.json's settings rebuild it."""
    train, dev = travel_data
    options = tiny_settings.replace(encoders=("word", "trigram", "shape"), shape_dim=4)
    seed_everything(0)
    model, featurizer = build_model(train, options)
    fit(model, featurizer, train, dev, TrainConfig(epochs=3, batch_size=8, seed=0), CPU, progress=False)
    save_artifact(tmp_path / "shape", model, featurizer)
    before = Predictor(model, featurizer, CPU)
    after = Predictor.load(tmp_path / "shape", device="cpu")
    parsed_before, parsed_after = before.parse_batch(TEXTS), after.parse_batch(TEXTS)
    assert [(p.tags, p.intent, p.slots) for p in parsed_after] == [
        (p.tags, p.intent, p.slots) for p in parsed_before
    ]
    for loaded, in_memory in zip(after.tag(SENTENCES), before.tag(SENTENCES), strict=True):
        assert loaded.confidences == pytest.approx(in_memory.confidences, rel=1e-6)
    assert after.config.encoders == ("word", "trigram", "shape") and after.config.shape_dim == 4
    assert sorted(p.name for p in (tmp_path / "shape").iterdir()) == [CONFIG, WEIGHTS, VOCAB]
    shapes = load_file(str(tmp_path / "shape" / WEIGHTS))["embedder.shape.weight"]
    assert torch.count_nonzero(shapes) > 0  # trained: the shapes of the training words moved


def _flip_a_byte(folder: Path) -> None:
    data = bytearray((folder / WEIGHTS).read_bytes())
    data[-3] ^= 0x01  # inside the last tensor's data: still a well-formed safetensors file
    (folder / WEIGHTS).write_bytes(bytes(data))


def _state(folder: Path) -> dict[str, torch.Tensor]:
    # Copies: load_file maps the file, and the tensors must outlive overwriting it.
    return {name: tensor.clone() for name, tensor in load_file(str(folder / WEIGHTS)).items()}


def _pickle_beside(folder: Path) -> None:
    torch.save(_state(folder), folder / "pytorch_model.bin")


def _pickle_instead(folder: Path) -> None:
    torch.save(_state(folder), folder / WEIGHTS)


def _pickle_instead_vouched(folder: Path) -> None:
    _pickle_instead(folder)
    redigest(folder, WEIGHTS)


def _weights_of_another_shape(folder: Path) -> None:
    """Weights that claim this config (its digest in their metadata) but have an extra tag row."""
    state = load_file(str(folder / WEIGHTS))
    with safe_open(str(folder / WEIGHTS), framework="pt") as weights:
        metadata = weights.metadata()
    state["slot_head.weight"] = torch.cat([state["slot_head.weight"], state["slot_head.weight"][:1]])
    save_file(state, str(folder / WEIGHTS), metadata=metadata)
    redigest(folder, WEIGHTS)


def _tamper_vocab(folder: Path) -> None:
    words = json.loads((folder / VOCAB).read_text(encoding="utf-8"))
    (folder / VOCAB).write_text(json.dumps(words[::-1]), encoding="utf-8")


def _vocab_not_a_list(folder: Path) -> None:
    (folder / VOCAB).write_text('{"taipei": 2}', encoding="utf-8")
    redigest(folder, VOCAB)


def _vocab_not_json(folder: Path) -> None:
    (folder / VOCAB).write_text('["taipei"', encoding="utf-8")
    redigest(folder, VOCAB)


def _set_model(name: str, value: Any) -> Callable[[Path], None]:
    return lambda folder: edit_config(folder, lambda c: c["model"].__setitem__(name, value))


REFUSALS: list[tuple[str, Callable[[Path], object], str, str]] = [
    # (case, tamper, file the error must name, words the message must hold)
    ("missing config", lambda f: (f / CONFIG).unlink(), CONFIG, "missing"),
    (
        "config not JSON",
        lambda f: (f / CONFIG).write_text("{format: 1", encoding="utf-8"),
        CONFIG,
        "not valid JSON",
    ),
    ("config not UTF-8", lambda f: (f / CONFIG).write_bytes(b"\xff\xfe{}"), CONFIG, "not valid JSON"),
    ("config a list", lambda f: (f / CONFIG).write_text("[]", encoding="utf-8"), CONFIG, "not a slotfill"),
    (
        "other format",
        lambda f: edit_config(f, lambda c: c.__setitem__("format", "hf")),
        CONFIG,
        "not a slotfill",
    ),
    (
        "newer version",
        lambda f: edit_config(f, lambda c: c.__setitem__("format_version", 2)),
        CONFIG,
        "format version 2",
    ),
    (
        "no version",
        lambda f: edit_config(f, lambda c: c.pop("format_version")),
        CONFIG,
        "format version None",
    ),
    ("no digests", lambda f: edit_config(f, lambda c: c.pop("files")), CONFIG, "digests"),
    (
        "entry outside",
        lambda f: edit_config(f, lambda c: c["files"].__setitem__("../x", "0")),
        CONFIG,
        "outside",
    ),
    ("unknown setting", _set_model("attention", True), CONFIG, "attention"),
    ("invalid setting", _set_model("cell", "transformer"), CONFIG, "cell"),
    ("no model settings", lambda f: edit_config(f, lambda c: c.pop("model")), CONFIG, "bad model settings"),
    ("missing weights", lambda f: (f / WEIGHTS).unlink(), WEIGHTS, "missing"),
    ("modified weights", _flip_a_byte, WEIGHTS, "SHA-256"),
    ("pickle beside", _pickle_beside, "pytorch_model.bin", "pickle"),
    ("pickle checkpoint", lambda f: (f / "last.CKPT").write_bytes(b"\x80\x04."), "last.CKPT", "pickle"),
    ("pickle instead", _pickle_instead, WEIGHTS, "SHA-256"),
    ("pickle instead, vouched", _pickle_instead_vouched, WEIGHTS, "not a valid safetensors"),
    ("tampered vocab", _tamper_vocab, VOCAB, "SHA-256"),
    ("missing vocab", lambda f: (f / VOCAB).unlink(), VOCAB, "missing"),
    ("vocab not a list", _vocab_not_a_list, VOCAB, "list of words"),
    ("vocab not JSON", _vocab_not_json, VOCAB, "not valid JSON"),
    ("wrong hidden size", _set_model("hidden_size", 8), CONFIG, "edited config.json"),
    ("wrong cell", _set_model("cell", "gru"), CONFIG, "edited config.json"),
    (
        "extra slot tag",
        _set_model(
            "slot_tags", ["O", "B-a", "B-departure", "I-departure", "B-dest", "I-dest", "B-time", "I-time"]
        ),
        CONFIG,
        "edited config.json",
    ),
    ("no intents", _set_model("intents", []), CONFIG, "edited config.json"),
    ("weights of another shape, vouched", _weights_of_another_shape, WEIGHTS, "do not fit config.json"),
    (
        "metrics not JSON",
        lambda f: (f / "metrics.json").write_text("{", encoding="utf-8"),
        "metrics.json",
        "not valid JSON",
    ),
]


@pytest.mark.parametrize(
    ("tamper", "culprit", "words"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusals_name_the_file(
    folder: Path, tamper: Callable[[Path], object], culprit: str, words: str
) -> None:
    tamper(folder)
    with pytest.raises(ArtifactError) as caught:
        Predictor.load(folder, device="cpu")
    assert caught.value.path == folder / culprit
    assert str(folder / culprit) in str(caught.value)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)  # one line, as the CLI and the service print it


def test_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no such model folder") as caught:
        load_artifact(tmp_path / "nowhere")
    assert caught.value.path == tmp_path / "nowhere"


def test_refuses_a_file_given_as_folder(folder: Path) -> None:
    with pytest.raises(ArtifactError, match="no such model folder"):
        load_artifact(folder / CONFIG)


def test_a_pickle_is_never_unpickled(folder: Path, tmp_path: Path) -> None:
    """A planted pickle whose loading would run code: refused before anything reads it."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (marker.write_text, ("ran",))

    torch.save({"x": Payload()}, folder / WEIGHTS)
    redigest(folder, WEIGHTS)
    with pytest.raises(ArtifactError):
        load_artifact(folder)
    assert not marker.exists()


def test_non_integer_size_is_refused_as_bad_settings(folder: Path) -> None:
    _set_model("hidden_size", 16.5)(folder)
    with pytest.raises(ArtifactError) as caught:
        load_artifact(folder)
    assert caught.value.path == folder / CONFIG


# --- recurrent cells ---------------------------------------------------------------------------

# Settings added with the looped cells: a folder saved before them has none of these keys.
CELL_SETTINGS = ("clockwork_periods", "scrn_context_share")


def test_a_folder_saved_before_the_looped_cells_loads_with_identical_tags(
    tiny_predictor: Predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved as the earlier version did: its config.json (and the digest tying the weights to it)
    lacks the cell settings; it loads, takes their defaults and tags exactly as before."""
    newer = ModelConfig.to_dict
    monkeypatch.setattr(
        ModelConfig, "to_dict", lambda self: {k: v for k, v in newer(self).items() if k not in CELL_SETTINGS}
    )
    save_artifact(tmp_path / "old", tiny_predictor.model, tiny_predictor.featurizer)
    monkeypatch.undo()
    saved = json.loads((tmp_path / "old" / CONFIG).read_text(encoding="utf-8"))["model"]
    assert not set(CELL_SETTINGS) & set(saved) and saved["cell"] == "lstm"
    loaded = Predictor.load(tmp_path / "old", device="cpu")
    assert loaded.config == tiny_predictor.config
    assert readings(loaded) == readings(tiny_predictor)


@pytest.mark.parametrize("cell", ["jordan", "lstm-peephole", "clockwork", "scrn"])
def test_a_looped_cell_round_trips_with_identical_predictions(
    cell: str, tiny_settings: ModelOptions, travel_data: tuple[list[Example], list[Example]], tmp_path: Path
) -> None:
    train, dev = travel_data
    settings = tiny_settings.replace(
        cell=cell, num_layers=2, clockwork_periods=(1, 3), scrn_context_share=0.25
    )
    seed_everything(0)
    model, featurizer = build_model(train, settings)
    fit(
        model,
        featurizer,
        train,
        dev,
        TrainConfig(epochs=2, batch_size=8, lr=1e-2, seed=0),
        CPU,
        progress=False,
    )
    before = Predictor(model, featurizer, CPU)
    save_artifact(tmp_path / cell, model, featurizer)
    after = Predictor.load(tmp_path / cell, device="cpu")
    assert after.config.cell == cell and after.config.clockwork_periods == (1, 3)
    assert readings(after) == readings(before)
    assert set(load_file(str(tmp_path / cell / WEIGHTS))) == set(model.state_dict())
