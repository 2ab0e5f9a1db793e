"""``score`` must give conlleval's numbers: proved on hand-counted utterances, then checked on random
tag sequences against a transliteration of conlleval's counting loop and against ``seqeval``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from seqeval import metrics as seqeval
from seqeval.metrics.sequence_labeling import precision_recall_fscore_support

from slotfill.training.metrics import IntentConfusion, Scores, SlotScore, score

# (gold tags, predicted tags, gold intent, predicted intent); the comment gives the chunks ([start, end))
# and the counts done by hand. "tokens a/b": a of b tags exactly right.
HAND: list[tuple[list[str], list[str], str, str]] = [
    # 1. Perfect; the time chunk runs to the end of the utterance.
    #    gold dest[0,2) time[3,5); pred the same -> dest c1 p1 g1, time c1 p1 g1. tokens 5/5. sentence right.
    (
        ["B-dest", "I-dest", "O", "B-time", "I-time"],
        ["B-dest", "I-dest", "O", "B-time", "I-time"],
        "flight",
        "flight",
    ),
    # 2. Starts with I-time right after utterance 1 ended in I-time: the boundary ends that chunk, so this
    #    is a new chunk (if chunks crossed utterances, time would count one gold, one predicted, one
    #    correct less). gold time[0,1); pred time[0,1) -> time c1 p1 g1. tokens 2/2. Wrong intent, so the
    #    sentence is wrong.
    (["I-time", "O"], ["I-time", "O"], "flight", "airfare"),
    # 3. I- after O opens a chunk, in gold; pred writes it well-formed. gold dest[1,3); pred dest[1,3)
    #    -> dest c1 p1 g1. tokens 3/4 (I-dest vs B-dest at 1): chunk right, sentence wrong.
    (["O", "I-dest", "I-dest", "O"], ["O", "B-dest", "I-dest", "O"], "flight", "flight"),
    # 4. I-dest directly after B-time in pred: two chunks. gold dest[0,3); pred time[0,1) dest[1,3)
    #    -> dest c0 p1 g1, time c0 p1 g0. tokens 2/3. Wrong intent too.
    (["B-dest", "I-dest", "I-dest"], ["B-time", "I-dest", "I-dest"], "flight", "airline"),
    # 5. Right type, wrong boundary (dest); right boundary, wrong type (time vs day).
    #    gold dest[0,2) time[3,4); pred dest[0,1) day[3,4) -> dest c0 p1 g1, time c0 p0 g1, day c0 p1 g0.
    #    tokens 3/5 (1 and 3 wrong).
    (["B-dest", "I-dest", "O", "B-time", "O"], ["B-dest", "O", "O", "B-day", "O"], "flight", "flight"),
    # 6. Same tokens, split differently. gold dest[0,3) dest[3,5); pred dest[0,2) dest[2,5)
    #    -> dest c0 p2 g2. tokens 3/5 (2 and 3 wrong).
    (
        ["B-dest", "I-dest", "I-dest", "B-dest", "I-dest"],
        ["B-dest", "I-dest", "B-dest", "I-dest", "I-dest"],
        "flight",
        "flight",
    ),
    # 7. Two adjacent gold chunks merged into one by pred. gold time[0,1) time[1,2); pred time[0,2)
    #    -> time c0 p1 g2. tokens 2/3.
    (["B-time", "B-time", "O"], ["B-time", "I-time", "O"], "flight", "flight"),
    # 8. No slot anywhere. Nothing counted. tokens 3/3. sentence right.
    (["O", "O", "O"], ["O", "O", "O"], "flight", "flight"),
    # 9. A missed gold chunk and two spurious ones. gold airline[1,2); pred day[0,1) day[2,3)
    #    -> airline c0 p0 g1, day c0 p2 g0. tokens 0/3.
    (["O", "B-airline", "O"], ["B-day", "O", "B-day"], "flight", "flight"),
    # 10. I-time directly after B-day in gold too, matched exactly: gold day[0,1) time[1,2); pred the same
    #     -> day c1 p1 g1, time c1 p1 g1. tokens 2/2. sentence right.
    (["B-day", "I-time"], ["B-day", "I-time"], "flight", "flight"),
]

# Sums of the comments above, per type: (correct, predicted, gold).
#   airline: c 0             p 0               g 1 (9)
#   day:     c 1 (10)        p 4 (5,9,9,10)    g 1 (10)
#   dest:    c 2 (1,3)       p 6 (1,3,4,5,6,6) g 6 (1,3,4,5,6,6)
#   time:    c 3 (1,2,10)    p 5 (1,2,4,7,10)  g 6 (1,2,5,7,7,10)
HAND_PER_SLOT = {
    "airline": SlotScore(correct=0, predicted=0, gold=1),
    "day": SlotScore(correct=1, predicted=4, gold=1),
    "dest": SlotScore(correct=2, predicted=6, gold=6),
    "time": SlotScore(correct=3, predicted=5, gold=6),
}
HAND_TOTAL = SlotScore(correct=6, predicted=15, gold=14)
HAND_TOKENS = 5 + 2 + 4 + 3 + 5 + 5 + 3 + 3 + 3 + 2  # 35
HAND_RIGHT_TOKENS = 5 + 2 + 3 + 2 + 3 + 3 + 2 + 3 + 0 + 2  # 25


def _hand(with_intents: bool) -> Scores:
    gold, predicted, gold_intents, predicted_intents = (list(column) for column in zip(*HAND, strict=True))
    if not with_intents:
        return score(gold, predicted)
    return score(gold, predicted, gold_intents, predicted_intents)


def test_hand_counted_chunks() -> None:
    scores = _hand(with_intents=True)
    assert scores.per_slot == HAND_PER_SLOT
    assert list(scores.per_slot) == ["airline", "day", "dest", "time"]  # sorted, types seen only once kept
    assert scores.slot == HAND_TOTAL
    assert sum(s.correct for s in HAND_PER_SLOT.values()) == HAND_TOTAL.correct
    assert sum(s.predicted for s in HAND_PER_SLOT.values()) == HAND_TOTAL.predicted
    assert sum(s.gold for s in HAND_PER_SLOT.values()) == HAND_TOTAL.gold


def test_hand_counted_scores() -> None:
    scores = _hand(with_intents=True)
    # micro: P = 6/15 = 0.4, R = 6/14 = 3/7, F1 = 2PR/(P+R) = 2*6/(15+14) = 12/29
    assert scores.slot.precision == pytest.approx(0.4, abs=1e-12)
    assert scores.slot.recall == pytest.approx(3 / 7, abs=1e-12)
    assert scores.slot.f1 == pytest.approx(12 / 29, abs=1e-12)
    per_slot = {label: (s.precision, s.recall, s.f1) for label, s in scores.per_slot.items()}
    assert per_slot["airline"] == (0.0, 0.0, 0.0)  # nothing predicted: 0, not a division error
    assert per_slot["day"] == pytest.approx((1 / 4, 1.0, 2 / 5))  # F1 = 2*1/(4+1)
    assert per_slot["dest"] == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert per_slot["time"] == pytest.approx((3 / 5, 1 / 2, 6 / 11))  # F1 = 2*3/(5+6)
    # tokens: 25 of 35 right (utterance comments) -> 5/7
    assert (scores.tokens, scores.utterances) == (HAND_TOKENS, 10) == (35, 10)
    assert scores.token_accuracy == pytest.approx(HAND_RIGHT_TOKENS / HAND_TOKENS) == pytest.approx(5 / 7)
    # intents wrong in 2 and 4 -> 8/10; all tags right in 1, 2, 8, 10, but 2 has the wrong intent -> 3/10
    assert scores.intent_accuracy == pytest.approx(0.8)
    assert scores.sentence_accuracy == pytest.approx(0.3)
    assert scores.intent_confusions == (
        IntentConfusion("flight", "airfare", 1),  # utterance 2
        IntentConfusion("flight", "airline", 1),  # utterance 4
    )


def test_intent_confusions_most_frequent_first() -> None:
    tags = [["O"]] * 5
    scores = score(tags, tags, ["a", "a", "a", "b", "c"], ["b", "c", "b", "a", "c"])
    assert scores.intent_confusions == (
        IntentConfusion("a", "b", 2),
        IntentConfusion("a", "c", 1),
        IntentConfusion("b", "a", 1),
    )
    assert score(tags, tags).intent_confusions == ()


def test_without_intents_sentence_accuracy_looks_at_tags_only() -> None:
    scores = _hand(with_intents=False)
    assert scores.intent_accuracy is None
    assert scores.sentence_accuracy == pytest.approx(0.4)  # utterances 1, 2, 8, 10
    assert scores.slot == HAND_TOTAL


def test_chunks_never_cross_utterances() -> None:
    # Joined, gold and predicted would both be one chunk a[0,3); apart they are a[0,2) and a[0,1).
    scores = score([["B-a", "I-a"], ["I-a"]], [["B-a", "I-a"], ["I-a"]])
    assert scores.slot == SlotScore(correct=2, predicted=2, gold=2)


def test_empty_input_scores_zero() -> None:
    scores = score([], [], [], [])
    assert scores.slot == SlotScore(0, 0, 0)
    assert (scores.slot.precision, scores.slot.recall, scores.slot.f1) == (0.0, 0.0, 0.0)
    assert (scores.intent_accuracy, scores.sentence_accuracy, scores.token_accuracy) == (0.0, 0.0, 0.0)
    assert scores.per_slot == {}


def test_to_dict_is_json_ready() -> None:
    data = json.loads(json.dumps(_hand(with_intents=True).to_dict()))
    for key in ("slot_f1", "slot_precision", "slot_recall", "intent_accuracy", "sentence_accuracy"):
        assert 0.0 <= data[key] <= 1.0
    assert data["token_accuracy"] == pytest.approx(5 / 7)
    assert data["utterances"] == 10
    assert data["per_slot"]["time"] == {
        "precision": pytest.approx(0.6),
        "recall": 0.5,
        "f1": pytest.approx(6 / 11),
        "gold": 6,
        "predicted": 5,
        "correct": 3,
    }
    assert data["intent_confusions"] == [
        {"gold": "flight", "predicted": "airfare", "count": 1},
        {"gold": "flight", "predicted": "airline", "count": 1},
    ]
    assert _hand(with_intents=False).to_dict()["intent_accuracy"] is None


def test_length_mismatch_names_the_utterance_and_both_lengths() -> None:
    with pytest.raises(ValueError, match=r"utterance 1: 2 gold tags but 3 predicted tags"):
        score([["O"], ["O", "O"]], [["O"], ["O", "O", "O"]])
    with pytest.raises(ValueError, match=r"2 gold utterances but 1 predicted"):
        score([["O"], ["O"]], [["O"]])


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match=r"utterance 0 \(predicted\): not a BIO tag: 'X-a'"):
        score([["B-a"]], [["X-a"]])
    with pytest.raises(TypeError, match=r"utterance 0 \(gold\) is a string"):
        score(["O O"], [["O", "O"]])
    with pytest.raises(ValueError, match=r"only gold intents"):
        score([["O"]], [["O"]], gold_intents=["a"])
    with pytest.raises(ValueError, match=r"1 utterances but predicted intents are 2 intents"):
        score([["O"]], [["O"]], ["a"], ["a", "b"])
    with pytest.raises(ValueError, match=r"inconsistent chunk counts"):
        SlotScore(correct=2, predicted=1, gold=3)


# --- Random cross-checks ---------------------------------------------------------------------------

# Include ill-formed sequences (any tag may follow any other) and a type with a hyphen, which
# conlleval handles since its 2004-01-26 version.
TAGS = ["O", "B-a", "I-a", "B-b", "I-b", "B-c.d", "I-c.d", "B-e-f", "I-e-f"]


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[list[str]], list[list[str]]]:
    lengths = draw(st.lists(st.integers(min_value=0, max_value=8), max_size=6))
    tag = st.sampled_from(TAGS)
    gold = [draw(st.lists(tag, min_size=n, max_size=n)) for n in lengths]
    predicted = [draw(st.lists(tag, min_size=n, max_size=n)) for n in lengths]
    return gold, predicted


def _conlleval(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> tuple[dict[str, SlotScore], int, int]:
    """conlleval's (version 2004-01-26) counting loop, transliterated statement by statement for BIO
    tags: per-type counts, right tags, tokens. An independent oracle for ``score``, which counts spans."""

    def parse(tag: str) -> tuple[str, str]:  # /^([^-]*)-(.*)$/
        prefix, sep, kind = tag.partition("-")
        return (prefix, kind) if sep else (tag, "")

    def end_of_chunk(prev_tag: str, tag: str, prev_type: str, kind: str) -> bool:
        return (prev_tag in ("B", "I") and tag in ("B", "O")) or (prev_tag != "O" and prev_type != kind)

    def start_of_chunk(prev_tag: str, tag: str, prev_type: str, kind: str) -> bool:
        return tag == "B" or (prev_tag == "O" and tag == "I") or (tag != "O" and prev_type != kind)

    rows: list[tuple[bool, str, str]] = []  # (is sentence break, gold tag, guessed tag)
    for gold_tags, predicted_tags in zip(gold, predicted, strict=True):
        rows += [(False, g, p) for g, p in zip(gold_tags, predicted_tags, strict=True)]
        rows.append((True, "O", "O"))
    found_correct: Counter[str] = Counter()
    found_guessed: Counter[str] = Counter()
    correct_chunk: Counter[str] = Counter()
    correct_tags = tokens = 0
    in_correct = False
    last_correct, last_correct_type, last_guessed, last_guessed_type = "O", "", "O", ""
    for boundary, gold_tag, guessed_tag in rows:
        correct, correct_type = parse(gold_tag)
        guessed, guessed_type = parse(guessed_tag)
        correct_ends = end_of_chunk(last_correct, correct, last_correct_type, correct_type)
        guessed_ends = end_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if in_correct:
            if correct_ends and guessed_ends and last_guessed_type == last_correct_type:
                in_correct = False
                correct_chunk[last_correct_type] += 1
            elif correct_ends != guessed_ends or guessed_type != correct_type:
                in_correct = False
        correct_starts = start_of_chunk(last_correct, correct, last_correct_type, correct_type)
        guessed_starts = start_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if correct_starts and guessed_starts and guessed_type == correct_type:
            in_correct = True
        if correct_starts:
            found_correct[correct_type] += 1
        if guessed_starts:
            found_guessed[guessed_type] += 1
        if not boundary:
            correct_tags += correct == guessed and guessed_type == correct_type
            tokens += 1
        last_correct, last_correct_type = correct, correct_type
        last_guessed, last_guessed_type = guessed, guessed_type
    if in_correct:
        correct_chunk[last_correct_type] += 1
    types = sorted(found_correct.keys() | found_guessed.keys())
    per_type = {t: SlotScore(correct_chunk[t], found_guessed[t], found_correct[t]) for t in types}
    return per_type, correct_tags, tokens


@settings(max_examples=300, deadline=None, derandomize=True)
@given(corpora())
def test_matches_conlleval_loop(corpus: tuple[list[list[str]], list[list[str]]]) -> None:
    gold, predicted = corpus
    per_type, correct_tags, tokens = _conlleval(gold, predicted)
    scores = score(gold, predicted)
    assert scores.per_slot == per_type
    assert scores.tokens == tokens
    assert scores.token_accuracy == (correct_tags / tokens if tokens else 0.0)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(corpora())
def test_matches_seqeval_default_mode(corpus: tuple[list[list[str]], list[list[str]]]) -> None:
    # seqeval's default (mode=None) chunking is its conlleval port. It must get lists, not tuples: it
    # only joins the utterances of a list of *lists*, and refuses an empty corpus.
    gold, predicted = corpus
    assume(gold)
    scores = score(gold, predicted)
    assert scores.slot.precision == pytest.approx(seqeval.precision_score(gold, predicted, zero_division=0))
    assert scores.slot.recall == pytest.approx(seqeval.recall_score(gold, predicted, zero_division=0))
    assert scores.slot.f1 == pytest.approx(seqeval.f1_score(gold, predicted, zero_division=0))
    if scores.per_slot:
        precision, recall, f1, support = precision_recall_fscore_support(
            gold, predicted, average=None, zero_division=0
        )
        assert [s.precision for s in scores.per_slot.values()] == pytest.approx(list(precision))
        assert [s.recall for s in scores.per_slot.values()] == pytest.approx(list(recall))
        assert [s.f1 for s in scores.per_slot.values()] == pytest.approx(list(f1))
        assert [s.gold for s in scores.per_slot.values()] == list(support)
    if scores.tokens:
        assert scores.token_accuracy == pytest.approx(seqeval.accuracy_score(gold, predicted))
