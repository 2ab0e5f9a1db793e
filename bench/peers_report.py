"""What ``bench/peers.py`` writes: the Markdown table with ratios to slotfill, its section, the plot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from accuracy import machine
from benchmarks_md import command_line, replace_section

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"
HEADING = "## Against the alternatives (`bench/peers.py`)"
START, END = "<!-- peers:start -->", "<!-- peers:end -->"
REFERENCE = "slotfill"
NAMES = {"slotfill": "slotfill", "crf": "CRF + TF-IDF LR", "spacy": "spaCy NER + TF-IDF LR"}
MARKERS = {"slotfill": "o", "crf": "s", "spacy": "^"}
COLOURS = {"atis": "tab:blue", "snips": "tab:orange"}


@dataclass(frozen=True)
class Column:
    title: str
    get: Callable[[dict[str, Any]], float | None]
    digits: int
    higher_is_better: bool


def _from(phase: str, key: str, scale: float = 1.0) -> Callable[[dict[str, Any]], float | None]:
    def get(row: dict[str, Any]) -> float | None:
        value = row.get(phase, {}).get(key)
        return None if value is None else float(value) * scale

    return get


COLUMNS = [
    Column("slot F1", _from("serve", "slot_f1", 100), 2, True),
    Column("intent acc.", _from("serve", "intent_accuracy", 100), 2, True),
    Column("train time (s)", _from("train", "train_seconds"), 1, False),
    Column("throughput (utt/s)", _from("serve", "throughput"), 0, True),
    Column("latency p50 (ms)", _from("serve", "latency_p50_ms"), 2, False),
    Column("latency p99 (ms)", _from("serve", "latency_p99_ms"), 2, False),
    Column("model (MB)", _from("train", "model_bytes", 1e-6), 2, False),
    Column("peak RSS train (MiB)", _from("train", "peak_rss_mib"), 0, False),
    Column("peak RSS serve (MiB)", _from("serve", "peak_rss_mib"), 0, False),
]


def ratio(value: float, reference: float) -> str:
    if reference == 0:
        return "–"
    r = value / reference
    if r >= 100:
        return f"{r:.0f}×"
    return f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×"


def _cell(column: Column, row: dict[str, Any], reference: dict[str, Any] | None) -> str:
    value = column.get(row)
    if value is None:
        return "–"
    text = f"{value:,.{column.digits}f}"
    ref = column.get(reference) if reference is not None and reference is not row else None
    return f"{text} ({ratio(value, ref)})" if ref is not None else text


def _reference(rows: list[dict[str, Any]], dataset: str) -> dict[str, Any] | None:
    for row in rows:
        if row["dataset"] == dataset and row["system"] == REFERENCE and "error" not in row:
            return row
    return None


def table(rows: list[dict[str, Any]]) -> str:
    """One row per dataset and system; peers' figures carry their ratio to slotfill's in brackets."""
    lines = [
        "| dataset | system | " + " | ".join(c.title for c in COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    for row in rows:
        reference = _reference(rows, row["dataset"])
        cells = [row["dataset"].upper(), NAMES.get(row["system"], row["system"])]
        if "error" in row and "serve" not in row:
            cells += ["failed"] + ["–"] * (len(COLUMNS) - 1)
        else:
            cells += [_cell(c, row, reference) for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gaps(rows: list[dict[str, Any]]) -> list[str]:
    """Plain sentences naming every figure on which a peer beats slotfill."""
    out = []
    for row in rows:
        reference = _reference(rows, row["dataset"])
        if row["system"] == REFERENCE or reference is None or "error" in row:
            continue
        wins = []
        for column in COLUMNS:
            value, ref = column.get(row), column.get(reference)
            if value is None or ref is None or value == ref:
                continue
            if (value > ref) == column.higher_is_better:
                wins.append(f"{column.title} {value:,.{column.digits}f} vs {ref:,.{column.digits}f}")
        if wins:
            out.append(
                f"- {row['dataset'].upper()}: {NAMES[row['system']]} beats slotfill on " + "; ".join(wins)
            )
    return out


def _selection(row: dict[str, Any]) -> str:
    train = row.get("train", {})
    if row["system"] == "crf":
        return (
            f"c1={train.get('c1')}, c2={train.get('c2')} of {train.get('grid')} pairs "
            f"({train.get('grid_seconds', 0):.0f} s for all), intent C={train.get('intent_C')}"
        )
    if row["system"] == "spacy":
        return (
            f"best epoch {train.get('best_epoch')} of {train.get('epochs_run')}, "
            f"intent C={train.get('intent_C')}"
        )
    return f"best epoch {train.get('best_epoch')} of {train.get('epochs_run')}"


def _fewest(rows: list[dict[str, Any]], key: str) -> str:
    values = [row["serve"][key] for row in rows if key in row.get("serve", {})]
    return f"{min(values):,}" if values else "–"


def section(rows: list[dict[str, Any]], argv: list[str], threads: int, quick: bool) -> str:
    chosen = [
        f"- {row['dataset'].upper()} {NAMES.get(row['system'], row['system'])}: {_selection(row)}"
        for row in rows
        if "train" in row and "error" not in row["train"]
    ]
    found = gaps(rows)
    lines = [
        START,
        f"Command: `{command_line('bench/peers.py', argv)}`  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d}; machine: {machine()}; threads: {threads} for every system "
        "(OMP/MKL/OpenBLAS/BLIS variables set before start, `torch.set_num_threads` for slotfill)  ",
        *(
            ["**Quick mode** (subsets, 1 epoch): a smoke test of the script, not a result.  "]
            if quick
            else []
        ),
        "Test split. In brackets: the figure divided by slotfill's on the same dataset (for time, "
        "latency, size and memory, lower is better).",
        "",
        "- Every system trains from scratch on train, picks its settings on dev, writes a model folder and "
        "is measured after loading it back: slotfill with default settings (early stopping on dev); the "
        'CRF with c1/c2 chosen on dev slot F1; spaCy: `spacy.blank("en")` with the `tok2vec` + `ner` '
        "pipeline of `spacy init config --pipeline ner` (efficiency, CPU), pre-tokenised input, spaCy's "
        "own optimizer, batcher and dropout, the best dev epoch kept (bounded epochs).",
        "- CRF and spaCy predict no intents: theirs come from a TF-IDF (word 1-2-grams) logistic "
        "regression with C chosen on dev, counted in their train time, throughput, latency, size and memory.",
        "- Train time: one fit of the chosen settings (the CRF's c1/c2 grid and the intent C search are not "
        "counted). Throughput: the test set repeated to "
        f"{_fewest(rows, 'throughput_utterances')} or more utterances, tagged in one call. Latency: each "
        "test utterance alone, in-process. Model: the files a server loads. Peak RSS: of the training "
        "process and of the serving process (torch is kept out of the spaCy processes: thinc would import "
        "it unused).",
        "- Slot F1 for all by the conlleval-exact scorer of `training/metrics.py`. CRFsuite is "
        "single-threaded and spaCy's CPU kernels (blis) are too, so the thread setting helps slotfill only.",
        "",
        table(rows),
        "",
        "Chosen on dev:",
        *chosen,
        "",
        *(
            ["Where a peer is ahead:", *found]
            if found
            else ["slotfill is ahead of every peer on every figure."]
        ),
        "",
        "![slot F1 against throughput](bench/peers.png)",
        END,
    ]
    return "\n".join(lines)


def write_benchmarks(rows: list[dict[str, Any]], argv: list[str], threads: int, quick: bool) -> None:
    """Replace the ``peers`` block of BENCHMARKS.md (appending the section when missing)."""
    block = section(rows, argv, threads, quick)
    replace_section(BENCHMARKS, START, END, HEADING, block)


def write_plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Slot F1 against throughput (log scale), one marker per system and dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    figure, axes = plt.subplots(figsize=(8.5, 4.5))
    for row in rows:
        if "serve" not in row or "error" in row:
            continue
        axes.scatter(
            row["serve"]["throughput"],
            row["serve"]["slot_f1"] * 100,
            marker=MARKERS.get(row["system"], "x"),
            color=COLOURS.get(row["dataset"], "tab:grey"),
            s=80,
            label=f"{NAMES.get(row['system'], row['system'])} ({row['dataset'].upper()})",
        )
    axes.set_xscale("log")
    axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.margins(x=0.15, y=0.15)
    axes.set_xlabel("batch throughput (utterances/s, log scale)")
    axes.set_ylabel("test slot F1 (%)")
    axes.set_title("slotfill and its alternatives: accuracy against speed")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
