"""The network as one ONNX graph: padded NumPy inputs in, slot scores and intent scores out.

Why a graph of its own rather than exporting ``Tagger.forward``: the training network reads
``nn.EmbeddingBag`` offsets and packs padded batches, neither of which exports to plain ONNX
operators. This module is the same arithmetic in exportable form, reading the very same
parameters:

- a bag encoder's pieces come as a padded (B, T, P) id block with a weight per piece (1/n for a
  token of n pieces, 0 for padding), so the mean of their rows is a gather and a weighted sum;
- the recurrent layers run on the padded batch and every ONNX ``LSTM``/``GRU``/``RNN`` node then
  gets the batch's lengths as its ``sequence_lens`` input (``_feed_lengths``), so each utterance's
  backward direction starts at its own last token and no padding enters the memory: what packing
  does in torch;
- an ensemble averages its members exactly as ``TaggerEnsemble.forward`` does.

``tests/model/test_onnx.py`` holds the graph to the torch network's tags and confidences.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from slotfill.model.batch import Featurizer
from slotfill.model.encoders.base import BagEncoder
from slotfill.model.ensemble import TaggerEnsemble, combine_outputs
from slotfill.model.tagger import SlotTagger, Tagger, TaggerOutput

if TYPE_CHECKING:
    import onnx

OPSET = 17
EXPORTABLE_CELLS = ("lstm", "gru", "rnn", "irnn")
LENGTHS = "lengths"
EMISSIONS, INTENTS = "emissions", "intent_logits"
GRAPH = "model.onnx"
RECORD = "onnx.json"
RECORD_FORMAT = "slotfill-onnx"


class ExportError(ValueError):
    """A model this exporter cannot turn into a graph, with the reason."""


def input_names(featurizer: Featurizer) -> list[str]:
    """The graph's inputs in order: each encoder's ids (a bag's ids and piece weights), lengths."""
    names = []
    for name, encoder in featurizer.encoders.items():
        names += [f"{name}_ids", f"{name}_weights"] if isinstance(encoder, BagEncoder) else [f"{name}_ids"]
    return [*names, LENGTHS]


class _Member(nn.Module):
    """One network's forward pass on the padded inputs (eval mode: no dropout)."""

    def __init__(self, network: SlotTagger, bags: Sequence[bool]) -> None:
        super().__init__()
        self.network = network
        self.bags = list(bags)

    def forward(self, inputs: list[torch.Tensor], mask: torch.Tensor) -> TaggerOutput:
        embedder = self.network.embedder
        parts = []
        position = 0
        for name, is_bag in zip(embedder.names, self.bags, strict=True):
            table = embedder.table(name).weight
            assert isinstance(table, torch.Tensor)
            if is_bag:
                ids, weights = inputs[position], inputs[position + 1]
                position += 2
                parts.append((table[ids] * weights.unsqueeze(-1)).sum(2))  # (B, T, dim)
            else:
                parts.append(table[inputs[position]])  # (B, T, dim); padding id 0 is a zero row
                position += 1
        states = self.network.encoder.rnn(torch.cat(parts, dim=-1))[0]
        emissions = self.network.slot_head(states)
        if self.network.intent_head is None:
            return TaggerOutput(emissions, None)
        return TaggerOutput(emissions, self.network.intent_head(states, mask).logits)


class GraphNetwork(nn.Module):
    """``Tagger`` scores from padded tensors, written for export; see the module docstring."""

    def __init__(self, model: Tagger, featurizer: Featurizer) -> None:
        super().__init__()
        networks = list(model.members) if isinstance(model, TaggerEnsemble) else [model]
        if not all(isinstance(network, SlotTagger) for network in networks):
            raise ExportError(f"{type(model).__name__} is neither a SlotTagger nor an ensemble of them")
        if model.config.cell not in EXPORTABLE_CELLS:
            raise ExportError(
                f"cell {model.config.cell!r} has no ONNX operator; "
                f"the cells that export are {', '.join(EXPORTABLE_CELLS)}"
            )
        bags = [isinstance(encoder, BagEncoder) for encoder in featurizer.encoders.values()]
        self.members = nn.ModuleList(_Member(network, bags) for network in networks)  # type: ignore[arg-type]
        self.has_intents = bool(model.config.intents)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        *encoded, lengths = inputs
        width = encoded[0].shape[1]
        mask = torch.arange(width, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)
        outputs = [member(encoded, mask) for member in self.members]
        combined = outputs[0] if len(outputs) == 1 else combine_outputs(outputs)
        if combined.intent_logits is None:
            return (combined.emissions,)
        return combined.emissions, combined.intent_logits


def write_onnx(folder: Path, int8: bool = False) -> Path:
    """Export the model folder's network into the folder, as ``model.onnx`` beside a record
    (``onnx.json``) of the weights it came from and its own digest; ``int8``: with int8 weights
    (``model.onnx_quantize``).

    The record ties the graph to ``model.safetensors``: a folder retrained or edited after the
    export has a stale graph, which ``model.onnx_runtime`` refuses rather than serve old weights.
    """
    from slotfill.model.artifact import WEIGHTS, library_versions, load_artifact, sha256_file, write_json
    from slotfill.model.atomic import write_atomic
    from slotfill.model.onnx_quantize import QUANTIZED, quantize_int8

    artifact = load_artifact(folder)

    def write(temp: Path) -> None:
        if not int8:
            export_graph(artifact.model, artifact.featurizer, temp)
            return
        plain = temp.with_name(temp.name + ".float32")
        try:
            export_graph(artifact.model, artifact.featurizer, plain)
            quantize_int8(plain, temp)
        finally:
            plain.unlink(missing_ok=True)

    write_atomic(folder / GRAPH, write)
    record = {
        "format": RECORD_FORMAT,
        "opset": OPSET,
        "weights": QUANTIZED if int8 else "float32",
        "versions": library_versions(),
        "files": {WEIGHTS: sha256_file(folder / WEIGHTS), GRAPH: sha256_file(folder / GRAPH)},
    }
    write_json(folder / RECORD, record)
    return folder / GRAPH


def graph_is_current(folder: Path) -> bool:
    """Whether the folder holds an export of its present weights, unaltered since."""
    import json

    from slotfill.model.artifact import CONFIG, WEIGHTS, sha256_file

    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        weights = json.loads((folder / CONFIG).read_text(encoding="utf-8"))["files"][WEIGHTS]
        files = record["files"]
        return bool(
            record["format"] == RECORD_FORMAT
            and files[WEIGHTS] == weights
            and files[GRAPH] == sha256_file(folder / GRAPH)
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def export_graph(model: Tagger, featurizer: Featurizer, path: Path) -> None:
    """Write ``model`` as an ONNX graph to ``path`` (batch and length dynamic)."""
    import warnings

    import onnx

    network = GraphNetwork(model.float().eval(), featurizer)
    example = example_inputs(featurizer)
    names = input_names(featurizer)
    outputs = [EMISSIONS, INTENTS] if network.has_intents else [EMISSIONS]
    axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "tokens"} for name in names[:-1]}
    for name in names[:-1]:
        encoder = name.rsplit("_", 1)[0]
        if f"{encoder}_weights" in names:
            # One name per encoder: a shared one would tell ONNX Runtime that a word's trigrams
            # and its subwords are always as many, and it would reuse one's buffer for the other.
            axes[name][2] = f"{encoder}_pieces"
    axes[LENGTHS] = {0: "batch"}
    axes[EMISSIONS] = {0: "batch", 1: "tokens"}
    if network.has_intents:
        axes[INTENTS] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        # Its warning that a recurrent graph exported at one batch size may fail at another does
        # not apply: no initial state is exported (tests/model/test_onnx.py runs several sizes).
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size")
        # Tracing reads the recurrent module's shape checks as constants: true of every input.
        warnings.filterwarnings("ignore", message="Converting a tensor to a Python boolean")
        # torch marks this exporter deprecated in favour of the torch.export-based one, which also
        # emits ONNX's LSTM (checked) but takes seconds per export and needs onnxscript; the pinned
        # torch has both, and tests/model/test_onnx.py guards the result of this one.
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", message="The feature will be removed", category=DeprecationWarning)
        # The TorchScript-based exporter turns nn.LSTM/GRU/RNN into ONNX's own recurrent operators,
        # which ONNX Runtime runs as fused kernels; the dynamo exporter would unroll them.
        torch.onnx.export(
            network,
            tuple(example),
            str(path),
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    graph = onnx.load(str(path))
    _feed_lengths(graph)
    onnx.checker.check_model(graph)
    onnx.save(graph, str(path))


def example_inputs(featurizer: Featurizer) -> list[torch.Tensor]:
    """Two utterances of 3 and 2 tokens, as the graph receives them."""
    inputs: list[torch.Tensor] = []
    for encoder in featurizer.encoders.values():
        if isinstance(encoder, BagEncoder):
            inputs += [torch.ones(2, 3, 2, dtype=torch.long), torch.full((2, 3, 2), 0.5)]
        else:
            inputs.append(torch.ones(2, 3, dtype=torch.long))
    return [*inputs, torch.tensor([3, 2])]


def _feed_lengths(model: onnx.ModelProto) -> None:
    """Give every recurrent node the batch's lengths (int32) as its ``sequence_lens`` input."""
    import onnx

    nodes = model.graph.node
    recurrent = [node for node in nodes if node.op_type in ("LSTM", "GRU", "RNN")]
    if not recurrent:
        raise ExportError("the exported graph holds no recurrent operator")
    if LENGTHS not in {value.name for value in model.graph.input}:
        # A model without intents reads the lengths only here, so the exporter dropped the input.
        model.graph.input.append(
            onnx.helper.make_tensor_value_info(LENGTHS, onnx.TensorProto.INT64, ["batch"])
        )
    cast = onnx.helper.make_node("Cast", [LENGTHS], ["lengths_int32"], to=onnx.TensorProto.INT32)
    nodes.insert(0, cast)
    for node in recurrent:
        while len(node.input) < 5:
            node.input.append("")
        node.input[4] = "lengths_int32"
