import math

import pytest

from slotfill.training.calibration import calibration, slot_answers


def test_ece_by_hand() -> None:
    # Bins [0.2, 0.3): 2 answers at 0.2 and 0.25, one right: accuracy 0.5, confidence 0.225, gap 0.275.
    # Bin [0.7, 0.8): 3 answers at 0.75, two right: gap |2/3 - 0.75| = 1/12.
    # Bin [0.9, 1.0]: confidence 1.0 goes in the last bin with 0.9; both right: gap 0.05.
    c = calibration([0.2, 0.25, 0.75, 0.75, 0.75, 0.9, 1.0], [False, True, True, True, False, True, True])
    expected = (2 * 0.275 + 3 * (0.75 - 2 / 3) + 2 * 0.05) / 7
    assert c.ece == pytest.approx(expected)
    assert [(b.low, b.high, b.count) for b in c.bins] == [(0.2, 0.3, 2), (0.7, 0.8, 3), (0.9, 1.0, 2)]
    assert c.bins[0].confidence == pytest.approx(0.225) and c.bins[0].accuracy == 0.5
    assert c.count == 7 and c.accuracy == pytest.approx(5 / 7)
    assert c.confidence == pytest.approx(sum([0.2, 0.25, 0.75, 0.75, 0.75, 0.9, 1.0]) / 7)


def test_confidences_that_match_hit_rates_score_zero() -> None:
    c = calibration([0.8] * 10, [True] * 8 + [False] * 2)
    assert c.ece == pytest.approx(0.0)


def test_an_overconfident_model_scores_its_gap() -> None:
    # The module docstring's example: always 0.99, right 80% of the time.
    assert calibration([0.99] * 10, [True] * 8 + [False] * 2).ece == pytest.approx(0.19)


def test_zero_confidence_goes_in_the_first_bin() -> None:
    c = calibration([0.0, 0.05], [False, False])
    assert [(b.low, b.count) for b in c.bins] == [(0.0, 2)]


@pytest.mark.parametrize(
    ("confidences", "correct", "message"),
    [
        ([0.5], [True, False], "1 confidences but 2 outcomes"),
        ([], [], "no answers"),
        ([1.5], [True], "answer 0: confidence 1.5 is not in"),
        ([0.5, -0.1], [True, True], "answer 1: confidence -0.1"),
        ([math.nan], [True], "confidence nan"),
    ],
)
def test_bad_input_is_refused(confidences: list[float], correct: list[bool], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calibration(confidences, correct)


def test_slot_answers_follow_conlleval_spans() -> None:
    # An I- after O opens a span (conlleval); a span with the right words but the wrong type is wrong.
    gold = [["B-dest", "I-dest", "O", "B-time"], ["O", "B-dest"]]
    predicted = [["B-dest", "I-dest", "I-time", "B-dest"], ["O", "B-dest"]]
    sure = [[0.9, 0.7, 0.4, 0.6], [0.99, 0.95]]
    assert slot_answers(gold, predicted, sure) == ([0.7, 0.4, 0.6, 0.95], [True, False, False, True])


def test_no_predicted_span_gives_no_answers() -> None:
    assert slot_answers([["B-dest"]], [["O"]], [[0.9]]) == ([], [])
