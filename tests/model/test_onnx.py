"""The ONNX graph against the torch network: same scores for every model shape, same answers.

Scores are compared with a tolerance (two libraries add in different orders); tags are compared
exactly only on a trained model, where a flip needs two paths within rounding of each other.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch

from slotfill.model.artifact import ArtifactError, save_artifact
from slotfill.model.batch import collate
from slotfill.model.config import ModelOptions
from slotfill.model.ensemble import build_tagger
from slotfill.model.onnx_graph import GRAPH, RECORD, graph_is_current, write_onnx
from slotfill.model.predictor import Predictor
from slotfill.model.tokenize import tokenize
from slotfill.training.builder import build_featurizer
from slotfill.training.data import Example

TEXTS = [
    "arrive Taipei on November 2nd",
    "leave Taipei on November 2nd",
    "fly from Boston to Denver",
    "No, thanks.",
    "2 seats to LA, returning March 4th",
    "x",
    "what flights go from san francisco to washington dc on the evening of june 5th please",
]
SMALL = {"word_dim": 8, "trigram_dim": 8, "hidden_size": 8, "trigram_buckets": 256, "shape_dim": 4}
SHAPES = {
    "lstm": {},
    "gru, two layers": {"cell": "gru", "num_layers": 2},
    "rnn, one direction": {"cell": "rnn", "bidirectional": False},
    "irnn, no crf, mean pooling": {"cell": "irnn", "crf": False, "intent_pooling": "maxmean"},
    "word shape and token votes": {"encoders": ("word", "trigram", "shape"), "intent_token_votes": True},
    "trigrams alone": {"encoders": ("trigram",)},
    # Two bag encoders whose pieces per word differ: each needs its own dynamic axis.
    "trigrams and subwords": {"encoders": ("word", "trigram", "spm"), "spm_vocab_size": 60, "spm_dim": 8},
}


def save_untrained(folder: Path, train: list[Example], options: ModelOptions, members: int = 1) -> Path:
    """A model folder of randomly initialised weights (the graph must match any weights)."""
    torch.manual_seed(0)
    featurizer = build_featurizer(train, options)
    config = featurizer.config.replace(members=members)
    model = build_tagger(config, featurizer.sizes)
    with torch.no_grad():  # random tables, so the CRF's and the heads' parts all count
        for name, parameter in model.named_parameters():
            if "crf" in name:
                parameter.normal_()
    save_artifact(folder, model.eval(), featurizer)
    return folder


def scores_agree(folder: Path) -> None:
    torch_side = Predictor.load(folder, device="cpu", backend="torch")
    onnx_side = Predictor.load(folder, device="cpu", backend="onnx")
    assert (torch_side.backend, onnx_side.backend) == ("torch", "onnx")
    assert onnx_side.network is not None
    features = [torch_side.featurizer.featurize([t.text for t in tokenize(text)]) for text in TEXTS]
    for rows in ([0], [5], list(range(len(TEXTS))), [6, 5, 1]):  # alone, one token, padded batches
        chosen = [features[i] for i in rows]
        batch = collate(chosen)
        with torch.inference_mode():
            expected = torch_side.model(batch)
        got, mask = onnx_side.network(chosen)
        assert torch.equal(mask, batch.mask)
        torch.testing.assert_close(got.emissions[mask], expected.emissions[mask], atol=1e-4, rtol=1e-4)
        if expected.intent_logits is None:
            assert got.intent_logits is None
        else:
            assert got.intent_logits is not None
            torch.testing.assert_close(got.intent_logits, expected.intent_logits, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_graph_scores_as_the_network(
    shape: str, tmp_path: Path, travel_data: tuple[list[Example], list[Example]]
) -> None:
    options = ModelOptions.model_validate({**SMALL, **SHAPES[shape]})
    folder = save_untrained(tmp_path / "model", travel_data[0], options)
    write_onnx(folder)
    scores_agree(folder)


def test_an_ensemble_exports_as_one_graph(
    tmp_path: Path, travel_data: tuple[list[Example], list[Example]]
) -> None:
    folder = save_untrained(tmp_path / "model", travel_data[0], ModelOptions.model_validate(SMALL), members=2)
    write_onnx(folder)
    scores_agree(folder)


def test_a_model_without_intents(tmp_path: Path, travel_data: tuple[list[Example], list[Example]]) -> None:
    slots_only = [dataclasses.replace(example, intent=None) for example in travel_data[0]]
    folder = save_untrained(tmp_path / "model", slots_only, ModelOptions.model_validate(SMALL))
    write_onnx(folder)
    scores_agree(folder)
    assert Predictor.load(folder, backend="onnx").parse("fly to Paris").intent is None


def test_the_trained_model_answers_alike(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    write_onnx(folder)
    torch_side = Predictor.load(folder, backend="torch").parse_batch(TEXTS)
    onnx_side = Predictor.load(folder, backend="onnx").parse_batch(TEXTS)
    for a, b in zip(torch_side, onnx_side, strict=True):
        assert a.tags == b.tags
        assert [(s.slot, s.start, s.end) for s in a.slots] == [(s.slot, s.start, s.end) for s in b.slots]
        for x, y in zip(a.slots, b.slots, strict=True):
            assert x.confidence == pytest.approx(y.confidence, abs=1e-4)
        assert (a.intent is None) == (b.intent is None)
        if a.intent is not None and b.intent is not None:
            assert a.intent.intent == b.intent.intent
            assert a.intent.confidence == pytest.approx(b.intent.confidence, abs=1e-4)


@pytest.fixture
def exported(tiny_model_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    write_onnx(folder)
    return folder


def test_auto_takes_the_export_on_the_cpu_and_torch_without_one(exported: Path, tiny_model_dir: Path) -> None:
    assert Predictor.load(exported).backend == "onnx"
    assert Predictor.load(tiny_model_dir).backend == "torch"
    assert Predictor.load(exported, backend="torch").backend == "torch"


def test_the_onnx_backend_needs_an_export(tiny_model_dir: Path) -> None:
    with pytest.raises(ArtifactError, match="slotfill export"):
        Predictor.load(tiny_model_dir, backend="onnx")


def test_an_altered_graph_is_refused(exported: Path) -> None:
    with (exported / GRAPH).open("ab") as graph:
        graph.write(b"\0")
    assert not graph_is_current(exported)
    with pytest.raises(ArtifactError, match="changed since export"):
        Predictor.load(exported, backend="onnx")


def test_a_graph_of_other_weights_is_refused(exported: Path, tiny_model_dir: Path) -> None:
    """Retraining the folder after the export leaves a stale graph: never served."""
    record = json.loads((exported / RECORD).read_text())
    record["files"]["model.safetensors"] = "0" * 64
    (exported / RECORD).write_text(json.dumps(record))
    assert not graph_is_current(exported)
    with pytest.raises(ArtifactError, match="other weights"):
        Predictor.load(exported, backend="onnx")
    assert Predictor.load(exported, backend="torch").backend == "torch"


def test_a_broken_record_is_named(exported: Path) -> None:
    (exported / RECORD).write_text("{not json")
    with pytest.raises(ArtifactError, match=RECORD):
        Predictor.load(exported, backend="onnx")


def test_an_unknown_backend_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="the backends are auto, torch, onnx"):
        Predictor.load(tiny_model_dir, backend="tensorrt")  # type: ignore[arg-type]


def test_int8_export_quantizes_the_products_and_keeps_the_scores_close(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """int8 weights move scores a little (not to float32's 1e-4): close relative to their spread."""
    import onnx

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    write_onnx(folder)
    plain_size = (folder / GRAPH).stat().st_size
    write_onnx(folder, int8=True)
    assert json.loads((folder / RECORD).read_text())["weights"] == "int8"
    assert graph_is_current(folder)
    operators = {node.op_type for node in onnx.load(str(folder / GRAPH)).graph.node}
    assert {"DynamicQuantizeLSTM", "MatMulInteger"} <= operators
    assert (folder / GRAPH).stat().st_size < plain_size
    torch_side = Predictor.load(folder, backend="torch")
    int8_side = Predictor.load(folder, backend="onnx")
    features = [torch_side.featurizer.featurize([t.text for t in tokenize(text)]) for text in TEXTS]
    with torch.inference_mode():
        expected = torch_side.model(collate(features))
    got, mask = int8_side.network(features)
    spread = float(expected.emissions[mask].std())
    error = float((got.emissions - expected.emissions)[mask].abs().max())
    assert error < 0.25 * spread, (error, spread)
    parses = int8_side.parse_batch(TEXTS)
    assert [len(p.tags) for p in parses] == [len(tokenize(t)) for t in TEXTS]
