"""The default model on real chatbot turns: strict character spans on ``sgd_travel_dev``.

People wrote these 1,630 turns to a travel assistant (``../shared/datasets/README.md``), so they
hold what chatbot traffic holds and the generated corpus may not: "No, thanks.", several sentences
in one turn, seat counts, airlines, "Portland, OR", "the 3rd of March". Each turn goes through
``Predictor.parse_batch`` exactly as written, as the REST API would send it, and a predicted slot
counts only when its slot name, start and end all equal a gold span's (``text[start:end]``).

Beside the model, the baseline to beat: a linear-chain CRF over classic word features
(``bench/peers_crf.py``) trained on the same generated corpus, tagging the same tokens.

Reported: precision, recall and F1 over all spans and per slot, the share of slot-free turns given
a slot (false alarms), the share of turns entirely right, the calibration error of the slot
confidences, and every error sorted into the kinds below, with counts and examples. The set is for
measuring only: nothing here trains on it.

    python bench/real_turns.py                        # builds the default model as make run does
    python bench/real_turns.py --model models/default --no-write --errors runs/real_turns.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accuracy import machine  # noqa: E402
from benchmarks_md import command_line, replace_section  # noqa: E402

from slotfill.training.calibration import calibration  # noqa: E402
from slotfill.training.metrics import SlotScore  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "sgd_travel_dev" / "dev.jsonl"
BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- real-turns:start -->", "<!-- real-turns:end -->"
HEADING = "## Real chatbot turns (`bench/real_turns.py`)"
SLOTS = ("departure", "dest", "time")
EXAMPLES = 3

logger = logging.getLogger("bench.real_turns")


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A slot as character offsets into its turn."""

    start: int
    end: int
    slot: str


@dataclass(frozen=True)
class Turn:
    text: str
    gold: frozenset[Span]


@dataclass(frozen=True)
class Answer:
    """What a system said about one turn: its spans and, when it gives them, their confidences."""

    spans: frozenset[Span]
    confidences: dict[Span, float] = field(default_factory=dict)


def load_turns(path: Path) -> list[Turn]:
    """The turns of a JSONL file of ``{"text", "slots": [{"slot", "start", "end"}]}`` lines."""
    turns = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        text = record["text"]
        spans = frozenset(Span(s["start"], s["end"], s["slot"]) for s in record["slots"])
        for span in spans:
            if not 0 <= span.start < span.end <= len(text):
                raise ValueError(f"{path}:{number}: span {span} outside the text")
        turns.append(Turn(text, spans))
    return turns


# --- error kinds -------------------------------------------------------------------------------

_COUNT_NOUNS = r"(?:people|persons?|passengers?|adults?|seats?|tickets?|bags?|suitcases?|travell?ers?|of us)"
_NUMBER = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|a couple)"
_COUNT = re.compile(rf"\b{_NUMBER}\b\W*\b{_COUNT_NOUNS}\b", re.IGNORECASE)
_DIALOGUE = re.compile(
    r"^\W*(?:no|nope|yes|yeah|yep|yup|sure|ok(?:ay)?|thanks?|thank you|great|perfect|cool|"
    r"sounds good|that works|that's all|that is all|please|correct|right)\b",
    re.IGNORECASE,
)
_REFERENCE_WORDS = re.compile(
    r"\b(?:airlines?|airways|city|cities|where|there|it|that|place|destination|origin|bus|flight|"
    r"class|economy|business|seats?|return|catch|trip)\b",
    re.IGNORECASE,
)
_PUNCT_EDGE = re.compile(r"^\W|\W$")


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def error_kinds(turn: Turn, predicted: frozenset[Span]) -> list[tuple[str, str]]:
    """Each wrong or missed span of a turn as ``(kind, example)``; the kinds are the issue's.

    The first rule that fits names the kind: a slot on a turn that has none; a slot on a number
    of people, seats or bags; a span that takes in punctuation or runs across a sentence; a
    "City, ST" place cut short; a date that differs only by a leading "the"/"on"; a slot on a word
    that refers to a place or an option rather than naming one; a right span with the wrong slot;
    other boundary errors; other spurious slots; missed slots.

    >>> turn = Turn("No thanks, fly to Fresno, CA", frozenset({Span(18, 28, "dest")}))
    >>> error_kinds(turn, frozenset({Span(0, 2, "time"), Span(18, 24, "dest")}))
    [('dialogue word', 'time "No"'), ('city, state', 'dest "Fresno" (gold "Fresno, CA")')]
    """
    text = turn.text
    found: list[tuple[str, str]] = []

    def shown(span: Span) -> str:
        return f'{span.slot} "{text[span.start : span.end]}"'

    for span in sorted(predicted - turn.gold):
        value = text[span.start : span.end]
        overlapping = [g for g in turn.gold if _overlaps(g, span)]
        gold = overlapping[0] if overlapping else None
        gold_value = text[gold.start : gold.end] if gold else ""
        example = shown(span) + (f' (gold "{gold_value}")' if gold and gold != span else "")
        if not turn.gold:
            kind = "dialogue word" if _DIALOGUE.search(value) else "slot on a slot-free turn"
        elif _COUNT.search(text[max(0, span.start - 12) : span.end + 14]) and (
            re.search(_NUMBER, value, re.IGNORECASE) and not gold
        ):
            kind = "count of people/seats/bags"
        elif _PUNCT_EDGE.search(value) or re.search(r"[.!?]\s", value):
            kind = "punctuation inside the span"
        elif gold and "," in gold_value and gold.slot == span.slot:
            kind = "city, state"
        elif gold and gold.slot == span.slot and _differs_by_leading_word(value, gold_value):
            kind = 'leading "the"/"on"'
        elif gold and (gold.start, gold.end) == (span.start, span.end):
            kind = "wrong slot"
        elif gold:
            kind = "other boundary"
        elif _REFERENCE_WORDS.search(value):
            kind = "reference or option word"
        elif _DIALOGUE.search(value):
            kind = "dialogue word"
        else:
            kind = "other spurious"
        found.append((kind, example))
    for gold in sorted(turn.gold - predicted):
        if not any(_overlaps(gold, span) for span in predicted):
            found.append(("missed", shown(gold)))
    return found


def _differs_by_leading_word(value: str, gold: str) -> bool:
    lead = re.compile(r"^(?:the|on|in|at)\s+", re.IGNORECASE)
    return value != gold and lead.sub("", value) == lead.sub("", gold)


# --- scoring -----------------------------------------------------------------------------------


def score(turns: Sequence[Turn], answers: Sequence[Answer]) -> dict[str, Any]:
    """Span precision/recall/F1 (all and per slot), false alarms, turn accuracy, slot ECE, errors."""
    per_slot = {slot: Counter[str]() for slot in SLOTS}
    confidences: list[float] = []
    right: list[bool] = []
    kinds: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    false_alarms = empty = exact = 0
    for turn, answer in zip(turns, answers, strict=True):
        for span in answer.spans:
            per_slot.setdefault(span.slot, Counter())["predicted"] += 1
            per_slot[span.slot]["correct"] += span in turn.gold
            if span in answer.confidences:
                confidences.append(answer.confidences[span])
                right.append(span in turn.gold)
        for span in turn.gold:
            per_slot.setdefault(span.slot, Counter())["gold"] += 1
        if not turn.gold:
            empty += 1
            false_alarms += bool(answer.spans)
        exact += answer.spans == turn.gold
        for kind, example in error_kinds(turn, answer.spans):
            kinds[kind] += 1
            if len(examples.setdefault(kind, [])) < EXAMPLES:
                examples[kind].append(f"{turn.text!r}: {example}")
    slots = {name: SlotScore(c["correct"], c["predicted"], c["gold"]) for name, c in per_slot.items()}
    total = SlotScore(
        sum(s.correct for s in slots.values()),
        sum(s.predicted for s in slots.values()),
        sum(s.gold for s in slots.values()),
    )
    return {
        "spans": total.to_dict(),
        "per_slot": {name: s.to_dict() for name, s in slots.items()},
        "false_alarm_rate": false_alarms / empty if empty else 0.0,
        "slot_free_turns": empty,
        "turn_accuracy": exact / len(turns),
        "turns": len(turns),
        "slot_ece": calibration(confidences, right).ece if confidences else None,
        "asking_back": asking_back(confidences, right),
        "errors": {kind: {"count": n, "examples": examples[kind]} for kind, n in kinds.most_common()},
    }


THRESHOLDS = (0.5, 0.7, 0.9)


def asking_back(confidences: Sequence[float], right: Sequence[bool]) -> list[dict[str, float]]:
    """For a chatbot that asks back below a confidence: the share of wrong slots it would catch and
    of right ones it would question needlessly, at each of :data:`THRESHOLDS`.

    >>> asking_back([0.95, 0.4, 0.8], [True, False, True])[0]
    {'threshold': 0.5, 'wrong_caught': 1.0, 'right_questioned': 0.0}
    """
    wrong = [c for c, ok in zip(confidences, right, strict=True) if not ok]
    fine = [c for c, ok in zip(confidences, right, strict=True) if ok]
    return [
        {
            "threshold": t,
            "wrong_caught": sum(c < t for c in wrong) / len(wrong) if wrong else 0.0,
            "right_questioned": sum(c < t for c in fine) / len(fine) if fine else 0.0,
        }
        for t in THRESHOLDS
    ]


# --- systems -----------------------------------------------------------------------------------

System = Callable[[Sequence[str]], list[Answer]]


def slotfill_system(model: Path) -> System:
    from slotfill.model.predictor import Predictor

    predictor = Predictor.load(model, device="cpu")

    def answer(texts: Sequence[str]) -> list[Answer]:
        answers = []
        for parse in predictor.parse_batch(texts):
            spans = {Span(s.start, s.end, s.slot): s.confidence for s in parse.slots}
            answers.append(Answer(frozenset(spans), spans))
        return answers

    return answer


def crf_system(corpus: Path, quick: bool) -> tuple[System, dict[str, Any]]:
    """The CRF peer trained on ``corpus``'s train split, its c1/c2 chosen on the corpus's dev."""
    from peers_base import Budget
    from peers_crf import CrfSystem

    from slotfill.model.spans import tags_to_spans
    from slotfill.model.tokenize import tokenize
    from slotfill.training.formats import read_split

    system = CrfSystem(Budget(quick=quick, threads=1))
    folder = Path(tempfile.mkdtemp(prefix="real-turns-crf-"))
    info = system.fit(read_split(corpus, "train", "jsonl"), read_split(corpus, "dev", "jsonl"), folder)
    tagger = system.load(folder)

    def answer(texts: Sequence[str]) -> list[Answer]:
        token_lists = [tokenize(text) for text in texts]
        tags = tagger.predict([[t.text for t in tokens] for tokens in token_lists]).tags
        answers = []
        for tokens, sequence in zip(token_lists, tags, strict=True):
            spans = [(s.label, tokens[s.start].start, tokens[s.end - 1].end) for s in tags_to_spans(sequence)]
            answers.append(Answer(frozenset(Span(start, end, slot) for slot, start, end in spans)))
        return answers

    return answer, info


def build_default(out: Path) -> Path:
    """``slotfill build-default`` into ``out`` (the model and its corpus, as ``make run`` makes them)."""
    subprocess.run(
        [
            sys.executable, "-m", "slotfill", "build-default", "--quiet",
            "--out", str(out / "model"), "--data", str(out / "data"), "--device", "cpu",
        ],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    return out / "model"


# --- report ------------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def render(results: dict[str, dict[str, Any]], argv: list[str], model: str) -> str:
    lines = [
        START,
        f"Command: `{command_line('bench/real_turns.py', argv)}`  ",
        f"Date: {datetime.now(UTC).date()}; machine: {machine()}; model: `{model}`  ",
        "Data: `../shared/datasets/sgd_travel_dev/dev.jsonl` (1,630 user turns, 418 of them without a "
        "slot), each parsed as written; a span counts when slot, start and end all match.",
        "",
        "| system | span P | span R | span F1 | departure F1 | dest F1 | time F1 | false alarms on "
        "slot-free turns | turns all right | slot ECE |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        per = r["per_slot"]
        lines.append(
            f"| {name} | {pct(r['spans']['precision'])} | {pct(r['spans']['recall'])} | "
            f"{pct(r['spans']['f1'])} | "
            + " | ".join(pct(per[slot]["f1"]) if slot in per else "n/a" for slot in SLOTS)
            + f" | {pct(r['false_alarm_rate'])}% | {pct(r['turn_accuracy'])}% | {pct(r['slot_ece'])} |"
        )
    first = next(iter(results))
    if results[first]["asking_back"]:
        lines += [
            "",
            f"Confidence of {first}'s slots, for a chatbot that asks back below a threshold: the share "
            "of its wrong slots it would catch, and of its right ones it would question.",
            "",
            "| ask back below | wrong slots caught | right slots questioned |",
            "|---|---|---|",
        ]
        lines += [
            f"| {row['threshold']} | {pct(row['wrong_caught'])}% | {pct(row['right_questioned'])}% |"
            for row in results[first]["asking_back"]
        ]
    lines += ["", f"Errors of {first}, by kind (a wrong span and a missed one are two errors):", ""]
    lines += ["| kind | count | examples |", "|---|---|---|"]
    for kind, entry in results[first]["errors"].items():
        shown = "<br>".join(e.replace("|", "\\|") for e in entry["examples"])
        lines.append(f"| {kind} | {entry['count']} | {shown} |")
    lines.append(END)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="model folder (default: build it as make run does)")
    parser.add_argument("--data", type=Path, default=DATA, help="turns to score (JSONL with spans)")
    parser.add_argument("--corpus", type=Path, help="generated corpus for the CRF (default: the model's)")
    parser.add_argument("--no-peer", action="store_true", help="score the model only")
    parser.add_argument("--quick", action="store_true", help="one CRF setting, 20 iterations")
    parser.add_argument("--errors", type=Path, help="write every turn's gold and predicted spans here")
    parser.add_argument("--report", type=Path, help="write the scores as JSON here")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    turns = load_turns(args.data)
    texts = [t.text for t in turns]
    with tempfile.TemporaryDirectory(prefix="real-turns-") as scratch:
        model = args.model or build_default(Path(scratch))
        corpus = args.corpus or (ROOT / "data" / "travel" if args.model else Path(scratch) / "data")
        systems: dict[str, System] = {"slotfill": slotfill_system(model)}
        if not args.no_peer:
            started = time.perf_counter()
            systems["CRF (sklearn-crfsuite) on the same corpus"], _ = crf_system(corpus, args.quick)
            logger.info("CRF peer trained in %.0f s", time.perf_counter() - started)
        results = {}
        all_answers = {}
        for name, system in systems.items():
            all_answers[name] = system(texts)
            results[name] = score(turns, all_answers[name])
            r = results[name]
            logger.info(
                "%s: span F1 %s (P %s, R %s), false alarms %s%%",
                name, pct(r["spans"]["f1"]), pct(r["spans"]["precision"]), pct(r["spans"]["recall"]),
                pct(r["false_alarm_rate"]),
            )  # fmt: skip
    if args.errors:
        with args.errors.open("w", encoding="utf-8") as out:
            for index, turn in enumerate(turns):
                record = {"text": turn.text, "gold": _spans(turn.text, turn.gold)}
                for name, answers in all_answers.items():
                    record[name] = _spans(turn.text, answers[index].spans, answers[index].confidences)
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if args.report:
        args.report.write_text(json.dumps(results, indent=2))
    shown = str(args.model or "built as make run does")
    block = render(results, sys.argv[1:] if argv is None else argv, shown)
    print(block)
    if not args.no_write:
        replace_section(BENCHMARKS, START, END, HEADING, block)
    return 0


def _spans(text: str, spans: frozenset[Span], confidences: dict[Span, float] | None = None) -> list[Any]:
    return [
        [s.slot, text[s.start : s.end], s.start, s.end, round((confidences or {}).get(s, -1.0), 3)]
        for s in sorted(spans)
    ]


if __name__ == "__main__":
    sys.exit(main())
