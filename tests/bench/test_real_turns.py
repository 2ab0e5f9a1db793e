"""``bench/real_turns.py``: strict character spans, false alarms, error kinds, and a real run of the
script on a model folder and a small file of turns (BENCHMARKS.md left alone without ``--write``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import real_turns  # noqa: E402
from real_turns import Answer, Span, Turn, error_kinds, load_turns, score  # noqa: E402

TURNS = [
    Turn("arrive Taipei on November 2nd", frozenset({Span(7, 13, "dest"), Span(17, 29, "time")})),
    Turn("No, thanks.", frozenset()),
    Turn("Yes please.", frozenset()),
    Turn("fly to Fresno, CA", frozenset({Span(7, 17, "dest")})),
]


def test_scores_count_only_spans_whose_slot_start_and_end_all_match() -> None:
    answers = [
        Answer(frozenset({Span(7, 13, "dest"), Span(17, 29, "time")}), {Span(7, 13, "dest"): 0.9}),
        Answer(frozenset({Span(0, 2, "time")}), {Span(0, 2, "time"): 0.8}),
        Answer(frozenset()),
        Answer(frozenset({Span(7, 13, "dest")})),  # the state left out: wrong
    ]
    result = score(TURNS, answers)
    assert (result["spans"]["correct"], result["spans"]["predicted"], result["spans"]["gold"]) == (2, 4, 3)
    assert result["per_slot"]["time"]["predicted"] == 2 and result["per_slot"]["dest"]["correct"] == 1
    assert result["false_alarm_rate"] == 0.5 and result["slot_free_turns"] == 2
    assert result["turn_accuracy"] == 0.5
    assert result["errors"]["dialogue word"]["count"] == 1
    assert result["errors"]["city, state"]["count"] == 1
    assert "missed" not in result["errors"]  # the cut-short place overlaps its gold span
    # Two confidences given: the right one at 0.9 and the wrong one at 0.8.
    assert result["asking_back"][2] == {"threshold": 0.9, "wrong_caught": 1.0, "right_questioned": 0.0}


@pytest.mark.parametrize(
    ("text", "gold", "predicted", "kind"),
    [
        ("I need tickets for 4 people", set(), {Span(19, 27, "dest")}, "slot on a slot-free turn"),
        ("to Denver for 4 people", {Span(3, 9, "dest")}, {Span(3, 9, "dest"), Span(14, 22, "dest")},
         "count of people/seats/bags"),
        ("to Denver, on Friday", {Span(3, 9, "dest")}, {Span(3, 10, "dest")}, "punctuation inside the span"),
        ("on the 3rd of March", {Span(7, 19, "time")}, {Span(3, 19, "time")}, 'leading "the"/"on"'),
        ("leave Denver", {Span(6, 12, "departure")}, {Span(6, 12, "dest")}, "wrong slot"),
        ("the leaving city is Denver", {Span(20, 26, "departure")},
         {Span(20, 26, "departure"), Span(12, 16, "departure")}, "reference or option word"),
        ("to Denver", {Span(3, 9, "dest")}, set(), "missed"),
    ],
)  # fmt: skip
def test_errors_fall_into_the_issue_s_kinds(
    text: str, gold: set[Span], predicted: set[Span], kind: str
) -> None:
    kinds = [k for k, _ in error_kinds(Turn(text, frozenset(gold)), frozenset(predicted))]
    assert kinds == [kind]


def test_load_turns_refuses_a_span_outside_its_text(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps({"text": "to Oslo", "slots": [{"slot": "dest", "start": 3, "end": 9}]}) + "\n")
    with pytest.raises(ValueError, match="outside the text"):
        load_turns(path)


def test_the_script_scores_a_model_folder(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "turns.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {"text": t.text, "slots": [{"slot": s.slot, "start": s.start, "end": s.end} for s in t.gold]}
            )
            + "\n"
            for t in TURNS
        )
    )
    before = real_turns.BENCHMARKS.read_bytes()
    report, errors = tmp_path / "report.json", tmp_path / "errors.jsonl"
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "real_turns.py"), "--model", str(tiny_model_dir),
            "--data", str(data), "--no-peer", "--no-write", "--report", str(report), "--errors", str(errors),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert real_turns.BENCHMARKS.read_bytes() == before
    assert "| slotfill |" in done.stdout and "<!-- real-turns:end -->" in done.stdout
    scores = json.loads(report.read_text())["slotfill"]
    assert scores["turns"] == len(TURNS) and scores["slot_free_turns"] == 2
    lines = [json.loads(line) for line in errors.read_text().splitlines()]
    assert [line["text"] for line in lines] == [t.text for t in TURNS]
    assert lines[0]["gold"] == [["dest", "Taipei", 7, 13, -1.0], ["time", "November 2nd", 17, 29, -1.0]]
