"""Reports: the JSON file, the conlleval predictions file and its round trip, the terminal table."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from slotfill.training.calibration import calibration
from slotfill.training.data import DataError
from slotfill.training.metrics import Scores, score
from slotfill.training.report import (
    read_predictions,
    render_confusions,
    render_table,
    write_predictions,
    write_report,
)

TOKENS = [["fly", "to", "new york", "tomorrow"], ["cheapest", "fare"], ["hi"]]
GOLD = [["O", "O", "B-dest", "B-date"], ["B-cost", "O"], ["O"]]
PREDICTED = [["O", "O", "B-dest", "I-dest"], ["B-cost", "O"], ["B-dest"]]


@pytest.fixture
def scores() -> Scores:
    # dest: gold 1, predicted 2 ([2,4) and [0,1) in utterance 2), correct 0; date: gold 1, missed;
    # cost: gold 1, predicted 1, correct 1.
    return score(GOLD, PREDICTED, ["flight", "airfare", "greet"], ["flight", "airfare", "flight"])


def test_json_report_has_fractions_and_required_keys(tmp_path: Path, scores: Scores) -> None:
    path = tmp_path / "eval" / "report.json"
    write_report(scores, path, extra={"split": "test", "checkpoint": "runs/a/model.safetensors"})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["slot_precision"] == pytest.approx(1 / 3)
    assert data["slot_recall"] == pytest.approx(1 / 3)
    assert data["slot_f1"] == pytest.approx(1 / 3)
    assert data["intent_accuracy"] == pytest.approx(2 / 3)
    assert data["sentence_accuracy"] == pytest.approx(1 / 3)  # only utterance 1 has every tag right
    assert data["token_accuracy"] == pytest.approx(5 / 7)
    assert data["utterances"] == 3
    assert data["per_slot"]["dest"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "gold": 1,
        "predicted": 2,
        "correct": 0,
    }
    assert sorted(data["per_slot"]) == ["cost", "date", "dest"]
    assert data["split"] == "test"
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temporary file left behind


def test_json_report_replaces_and_refuses_clashes(tmp_path: Path, scores: Scores) -> None:
    path = tmp_path / "report.json"
    path.write_text("old", encoding="utf-8")
    write_report(scores, path)
    assert json.loads(path.read_text(encoding="utf-8"))["utterances"] == 3
    with pytest.raises(ValueError, match=r"\['slot_f1'\] would overwrite"):
        write_report(scores, path, extra={"slot_f1": 1.0})
    with pytest.raises(TypeError):
        write_report(scores, path, extra={"not json": object()})
    assert json.loads(path.read_text(encoding="utf-8"))["utterances"] == 3  # untouched by the failures
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_predictions_file_is_conlleval_input(tmp_path: Path) -> None:
    path = tmp_path / "predictions.txt"
    write_predictions(path, TOKENS, GOLD, PREDICTED)
    assert path.read_text(encoding="utf-8") == (
        "fly O O\nto O O\nnew_york B-dest B-dest\ntomorrow B-date I-dest\n\n"
        "cheapest B-cost B-cost\nfare O O\n\n"
        "hi O B-dest\n\n"
    )


def test_predictions_round_trip_and_rescore(tmp_path: Path, scores: Scores) -> None:
    path = tmp_path / "predictions.txt"
    write_predictions(path, TOKENS, GOLD, PREDICTED)
    tokens, gold, predicted = read_predictions(path)
    assert tokens == [["fly", "to", "new_york", "tomorrow"], ["cheapest", "fare"], ["hi"]]
    assert (gold, predicted) == (GOLD, PREDICTED)
    assert score(gold, predicted) == score(GOLD, PREDICTED)
    assert score(gold, predicted).slot == scores.slot


def test_token_with_whitespace_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "predictions.txt"
    tokens = [["new york", "a\tb", "c\u00a0d", "line\nbreak", "cr\rlf", ""]]
    tags = [["B-x", "I-x", "O", "O", "O", "O"]]
    write_predictions(path, tokens, tags, tags)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[:6] == ["new_york B-x B-x", "a_b I-x I-x", "c_d O O", "line_break O O", "cr_lf O O", "_ O O"]
    assert lines[6:] == ["", ""]  # the blank line that ends the utterance, then end of file
    assert read_predictions(path).tokens == [["new_york", "a_b", "c_d", "line_break", "cr_lf", "_"]]


def test_read_predictions_follows_conlleval_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "predictions.txt"
    path.write_text("\n\na NN B-x B-x\nb NN I-x O\n  \n\n-X- O O\nc NN O B-y\n", encoding="utf-8")
    tokens, gold, predicted = read_predictions(path)
    assert tokens == [["a", "b"], ["c"]]  # runs of blank lines and "-X-" lines are one break
    assert gold == [["B-x", "I-x"], ["O"]]  # extra feature columns between token and tags are skipped
    assert predicted == [["B-x", "O"], ["B-y"]]


def test_bad_predictions_are_located(tmp_path: Path) -> None:
    path = tmp_path / "predictions.txt"
    path.write_text("a O O\nb O\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"predictions.txt:2: expected 'token gold predicted'") as caught:
        read_predictions(path)
    assert caught.value.line == 2
    path.write_text("a O O\n\nb O Q-x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r":3: not a BIO tag: 'Q-x'"):
        read_predictions(path)
    with pytest.raises(ValueError, match=r"utterance 1: 2 tokens, 2 gold tags and 1 predicted tags"):
        write_predictions(path, [["a"], ["b", "c"]], [["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match=r"contains whitespace"):
        write_predictions(path, [["a"]], [["B-new york"]], [["O"]])


def _render(scores: Scores) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(render_table(scores))
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_table_sorted_by_support_with_totals_and_accuracies() -> None:
    gold = [["B-a", "B-b", "B-b", "O"], ["B-c", "B-b", "B-a", "O"]]
    predicted = [["B-a", "B-b", "O", "B-d"], ["B-c", "B-b", "O", "O"]]
    text = _render(score(gold, predicted, ["x", "y"], ["x", "x"]))
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines() if "│" in line]
    assert [row[0] for row in rows[:4]] == ["b", "a", "c", "d"]  # support 3, 2, 1, 0
    assert rows[0] == ["b", "100.00", "66.67", "80.00", "3"]
    assert rows[3] == ["d", "0.00", "0.00", "0.00", "0"]  # predicted only: listed, scored 0
    # micro: correct 4, predicted 5, gold 6 -> P 80.00, R 66.67, F1 72.73
    assert rows[4] == ["all slots (micro)", "80.00", "66.67", "72.73", "6"]
    assert rows[5] == ["intent accuracy", "", "", "50.00", "2"]
    assert rows[6] == ["sentence accuracy", "", "", "0.00", "2"]
    assert rows[7] == ["token accuracy", "", "", "62.50", "8"]  # 5 of 8 tags right
    assert len(rows) == 8  # tags alone carry no confidences: no calibration rows


def test_table_prints_the_calibration_errors_when_measured() -> None:
    scores = replace(
        score([["B-a"]], [["B-a"]], ["x"], ["x"]),
        intent_calibration=calibration([0.9, 0.6], [True, True]),  # gaps 0.1 and 0.4
        slot_calibration=calibration([0.99] * 10, [True] * 8 + [False] * 2),
    )
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in _render(scores).splitlines()
        if "│" in line
    ]
    assert rows[-2:] == [
        ["intent calibration error", "", "", "25.00", "2"],
        ["slot calibration error", "", "", "19.00", "10"],
    ]


def test_confusions_mark_gold_intents_the_model_has_no_label_for() -> None:
    tags = [["O"]] * 4
    scores = score(
        tags, tags, ["greet", "greet", "airfare", "flight"], ["flight", "flight", "flight", "flight"]
    )
    table = render_confusions(scores, known={"flight", "airfare"})
    assert table is not None
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(table)
    assert isinstance(console.file, io.StringIO)
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in console.file.getvalue().splitlines()]
    rows = [row for row in rows if row]
    assert rows == [["greet (not a model label)", "flight", "2"], ["airfare", "flight", "1"]]


def test_confusions_beyond_the_limit_are_counted_in_the_caption() -> None:
    tags = [["O"]] * 3
    scores = score(tags, tags, ["a", "b", "c"], ["x", "y", "z"])
    table = render_confusions(scores, known={"a", "b", "c"}, limit=1)
    assert table is not None and table.row_count == 1 and table.caption == "and 2 more in other pairs"
    assert render_confusions(score(tags, tags, ["a"] * 3, ["a"] * 3), known={"a"}) is None


def test_table_without_intents_says_not_available() -> None:
    text = _render(score([["O"]], [["O"]]))
    assert "n/a" in next(line for line in text.splitlines() if "intent accuracy" in line)
    assert "100.00" in next(line for line in text.splitlines() if "sentence accuracy" in line)
