"""``Predictor`` speed per backend and device: one text per call, large batches, and where time goes.

Times the in-process API (no HTTP) on a model folder, for each backend (torch; ONNX Runtime when
the folder has a `slotfill export --onnx` graph) and device given, in one run, so the figures
compare as ratios on a noisy machine. ``--stages`` adds a breakdown of the single-text path
(tokenize, featurize, collate, embed, recurrent, heads, decode, spans, response), each stage
timed on its own over the same texts, and checks that the stages together give ``parse``'s
answer. ``--decoders`` checks that the CRF decoder ``model.crf`` picks (NumPy, split on large BIO
tag sets) gives torch's decoder's tags on every text, in calls of 64 and one by one, and how far
apart their confidences are. Prints a line per configuration and writes nothing.

    python bench/predictor_speed.py models/default ../shared/datasets/atis/test/seq.in --stages
    python bench/predictor_speed.py models/atis ../shared/datasets/atis/test/seq.in --devices cuda cpu
    python bench/predictor_speed.py models/default ../shared/datasets/atis/test/seq.in --batch-sizes 32 256
    python bench/predictor_speed.py models/atis ../shared/datasets/atis/test/seq.in --decoders
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slotfill.model.batch import collate  # noqa: E402
from slotfill.model.onnx_graph import GRAPH  # noqa: E402
from slotfill.model.prediction import Tagging  # noqa: E402
from slotfill.model.predictor import Predictor, to_parse  # noqa: E402
from slotfill.model.spans import trim_punctuation  # noqa: E402
from slotfill.model.tagger import SlotTagger, TaggerOutput  # noqa: E402
from slotfill.model.tokenize import tokenize  # noqa: E402
from slotfill.service.schemas import ParseResult  # noqa: E402

SINGLES = 400
WARM_UP = 50
BATCH_TEXTS = 4096


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def single_latencies(predictor: Predictor, texts: Sequence[str]) -> list[float]:
    for text in texts[:WARM_UP]:
        predictor.parse(text)
    latencies = []
    for text in texts[:SINGLES]:
        started = time.perf_counter()
        predictor.parse(text)
        latencies.append(time.perf_counter() - started)
    return latencies


def batch_rate(predictor: Predictor, texts: Sequence[str], batch_size: int) -> float:
    """Texts per second through ``tag``'s length-sorted batches of ``batch_size``."""
    many = [texts[i % len(texts)] for i in range(BATCH_TEXTS)]
    token_lists = [[t.text for t in tokenize(text)] for text in many]
    predictor.tag(token_lists[:batch_size], batch_size=batch_size)
    started = time.perf_counter()
    taggings = predictor.tag(token_lists, batch_size=batch_size)
    for text, tagging in zip(many, taggings, strict=True):
        to_parse(text, tokenize(text), tagging)
    return len(many) / (time.perf_counter() - started)


def measure(predictor: Predictor, texts: Sequence[str], batch_sizes: Sequence[int]) -> str:
    latencies = single_latencies(predictor, texts)
    rates = ", ".join(
        f"batches of {size}: {batch_rate(predictor, texts, size):.0f} texts/s" for size in batch_sizes
    )
    return (
        f"threads {torch.get_num_threads()}; one text per call p50 {percentile(latencies, 0.5) * 1e3:.3f} ms "
        f"p95 {percentile(latencies, 0.95) * 1e3:.3f} ms; {rates}"
    )


def stage_times(predictor: Predictor, texts: Sequence[str]) -> dict[str, float]:
    """Median microseconds of each stage of ``parse`` for one text, each timed over all texts."""
    texts = texts[:SINGLES]
    model = predictor.model
    timings: dict[str, list[float]] = {}

    def timed(name: str, work: Callable[[str], object]) -> dict[str, object]:
        out = {}
        for text in texts:
            started = time.perf_counter()
            out[text] = work(text)
            timings.setdefault(name, []).append(time.perf_counter() - started)
        return out

    tokens = timed("tokenize", tokenize)
    words = {text: [t.text for t in tokens[text]] for text in texts}  # type: ignore[union-attr]
    features = timed("featurize", lambda text: predictor.featurizer.featurize(words[text]))
    outputs: dict[str, object]
    with torch.inference_mode():
        if predictor.network is not None:
            network = predictor.network
            outputs = timed("network (onnx)", lambda text: network([features[text]]))  # type: ignore[list-item]
        else:
            batches = timed("collate", lambda text: collate([features[text]]).to(predictor.device))  # type: ignore[list-item]
            if isinstance(model, SlotTagger):
                embedded = timed("embed", lambda text: model.embedder(batches[text]))
                states = timed(
                    "recurrent",
                    lambda text: model.encoder(embedded[text], batches[text].lengths),  # type: ignore[attr-defined]
                )

                def heads(text: str) -> object:
                    batch = batches[text]
                    emissions = model.slot_head(states[text])
                    intents = model.intent_head(states[text], batch.mask) if model.intent_head else None
                    return TaggerOutput(emissions, intents.logits if intents else None), batch.mask

                outputs = timed("heads", heads)
            else:
                outputs = timed("network (ensemble)", lambda text: (model(batches[text]), batches[text].mask))  # type: ignore[attr-defined]
        decoded = timed("decode", lambda text: model.decode(*outputs[text]))  # type: ignore[misc]

    def spans(text: str) -> object:
        result = decoded[text]
        tags = trim_punctuation([model.config.slot_tags[i] for i in result.tags[0]], words[text])  # type: ignore[attr-defined]
        return to_parse(text, tokens[text], Tagging(tags, result.tag_probs[0]))  # type: ignore[arg-type, attr-defined]

    parses = timed("spans", spans)
    timed("response", lambda text: ParseResult.of(parses[text]).model_dump_json())  # type: ignore[arg-type]
    for text in texts[:50]:
        if parses[text].tags != predictor.parse(text).tags:  # type: ignore[attr-defined]
            raise AssertionError(f"the stages disagree with Predictor.parse on {text!r}")
    return {name: statistics.median(values) * 1e6 for name, values in timings.items()}


def decoder_agreement(predictor: Predictor, texts: Sequence[str], batch_size: int = 64) -> str:
    """How the decoder ``Tagger.decode`` picks compares with torch's on the same scores."""
    crf = predictor.model.crf
    if crf is None:
        return "no CRF: nothing to compare"
    temperature = predictor.config.slot_temperature
    sentences = [words for words in ([t.text for t in tokenize(text)] for text in texts) if words]
    calls = [sentences[i : i + batch_size] for i in range(0, len(sentences), batch_size)]
    calls += [[words] for words in sentences]  # one by one: crf_decode.decode_one
    differing, worst = 0, 0.0
    with torch.inference_mode():
        for call in calls:
            output, mask = predictor._scores(predictor._features(call))
            chosen = predictor.model.decode(output, mask)
            paths, probs = crf._best_paths_of_batch(output.emissions.float(), mask, temperature)
            differing += sum(a != b for a, b in zip(chosen.tags, paths, strict=True))
            for mine, theirs in zip(chosen.tag_probs, probs, strict=True):
                worst = max(worst, *(abs(a - b) for a, b in zip(mine, theirs, strict=True)))
    return (
        f"decoders: {len(sentences)} texts in calls of {batch_size} and one by one; paths differing "
        f"from torch's decoder: {differing}; largest confidence difference {worst:.1e}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path, help="a model folder")
    parser.add_argument("texts", type=Path, help="a file of texts, one per line (e.g. a seq.in)")
    parser.add_argument("--devices", nargs="+", default=["cpu"])
    parser.add_argument(
        "--backends", nargs="+", choices=("torch", "onnx"), help="default: torch, and onnx when exported"
    )
    parser.add_argument("--threads", type=int, help="torch and ONNX Runtime threads (default: torch's own)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--stages", action="store_true", help="break the single-text path down by stage")
    parser.add_argument(
        "--decoders", action="store_true", help="compare the chosen CRF decoder with torch's on every text"
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    texts = [line for line in args.texts.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(texts) < SINGLES:
        parser.error(f"{args.texts} has {len(texts)} texts; need at least {SINGLES}")
    backends = args.backends or (["torch", "onnx"] if (args.model / GRAPH).is_file() else ["torch"])
    for backend in backends:
        for device in args.devices:
            if backend == "onnx" and device != "cpu":
                continue
            predictor = Predictor.load(args.model, device=device, backend=backend)
            print(f"{device} ({backend}): {measure(predictor, texts, args.batch_sizes)}", flush=True)
            if args.stages:
                times = stage_times(predictor, texts)
                total = sum(times.values())
                parts = ", ".join(f"{name} {us:.0f}" for name, us in times.items())
                print(f"  stages, median us per text: {parts}; sum {total:.0f}", flush=True)
            if args.decoders:
                print(f"  {decoder_agreement(predictor, texts)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
