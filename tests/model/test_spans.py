"""BIO tags <-> spans: the conlleval policy for ill-formed input, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotfill.model.spans import Span, is_well_formed, spans_to_tags, split_tag, tags_to_spans

LABELS = ["a", "b", "toloc.city_name", "x-y"]
ANY_TAG = st.sampled_from(["O", *(f"{p}-{label}" for p in "BI" for label in LABELS)])


@st.composite
def well_formed(draw: st.DrawFn) -> list[str]:
    """A BIO sequence built from runs: O, or B-x followed by I-x repeated."""
    tags: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        label = draw(st.sampled_from([None, *LABELS]))
        if label is None:
            tags.append("O")
        else:
            tags += [f"B-{label}"] + [f"I-{label}"] * draw(st.integers(0, 3))
    return tags


@given(well_formed())
def test_well_formed_tags_round_trip(tags: list[str]) -> None:
    assert is_well_formed(tags)
    assert spans_to_tags(tags_to_spans(tags), len(tags)) == tags


@given(st.lists(ANY_TAG, max_size=12))
def test_round_trip_holds_exactly_for_well_formed_tags(tags: list[str]) -> None:
    repaired = spans_to_tags(tags_to_spans(tags), len(tags))
    assert (repaired == tags) == is_well_formed(tags)
    assert is_well_formed(repaired)
    assert tags_to_spans(repaired) == tags_to_spans(tags)  # repair keeps conlleval's chunks


@given(st.lists(ANY_TAG, max_size=12))
def test_spans_cover_exactly_the_tagged_tokens(tags: list[str]) -> None:
    spans = tags_to_spans(tags)
    covered = [i for s in spans for i in range(s.start, s.end)]
    assert covered == [i for i, tag in enumerate(tags) if tag != "O"]
    for span in spans:
        assert all(split_tag(tags[i])[1] == span.label for i in range(span.start, span.end))


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        ([], []),
        (["O", "O"], []),
        (["I-a"], [Span("a", 0, 1)]),  # a stray I- opens a span
        (["O", "I-a", "I-a"], [Span("a", 1, 3)]),
        (["B-a", "B-a"], [Span("a", 0, 1), Span("a", 1, 2)]),  # B- always starts one
        (["B-a", "I-b"], [Span("a", 0, 1), Span("b", 1, 2)]),  # a change of type closes one
        (["B-a", "I-a", "O", "I-a"], [Span("a", 0, 2), Span("a", 3, 4)]),
        (["B-x-y", "I-x-y"], [Span("x-y", 0, 2)]),  # only the first hyphen splits
    ],
)
def test_tags_to_spans_cases(tags: list[str], spans: list[Span]) -> None:
    assert tags_to_spans(tags) == spans


@pytest.mark.parametrize("tag", ["", "B", "B-", "I_a", "X-a", "b-a", "o", "-a"])
def test_split_tag_refuses_non_bio(tag: str) -> None:
    with pytest.raises(ValueError, match="not a BIO tag"):
        split_tag(tag)
    with pytest.raises(ValueError, match="not a BIO tag"):
        tags_to_spans(["O", tag])


@pytest.mark.parametrize(
    ("spans", "length", "message"),
    [
        ([Span("a", 0, 3)], 2, "does not fit"),
        ([Span("a", -1, 1)], 2, "does not fit"),
        ([Span("a", 1, 1)], 2, "does not fit"),  # empty span
        ([Span("a", 0, 2), Span("b", 1, 3)], 3, "overlaps"),
    ],
)
def test_spans_to_tags_refuses_bad_spans(spans: list[Span], length: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spans_to_tags(spans, length)


def test_spans_to_tags_adjacent_spans_of_one_type() -> None:
    tags = spans_to_tags([Span("a", 0, 1), Span("a", 1, 3)], 3)
    assert tags == ["B-a", "B-a", "I-a"]
    assert tags_to_spans(tags) == [Span("a", 0, 1), Span("a", 1, 3)]
