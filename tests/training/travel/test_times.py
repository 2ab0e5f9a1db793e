"""Time expressions for the synthetic corpus: deterministic, varied, well formed, real dates, and the
span convention (introducing prepositions and a leading "the" in the lead, meaning-changing modifiers
in the text, "the" kept only by a day of the month said alone)."""

from __future__ import annotations

import calendar
import datetime
import random
import re
from collections import Counter
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotfill.training.travel import times
from slotfill.training.travel.times import KINDS, TimePhrase, time_phrase, time_phrase_of_kind

# The closed word classes, written out independently of the module so a slip there shows here.
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTH_SHORT = {"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Sept": 9}
MONTH_SHORT |= {"Oct": 10, "Nov": 11, "Dec": 12}
MONTH_NUMBER = {name: i for i, name in enumerate(MONTHS, 1)} | MONTH_SHORT
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DAY_SHORT = {"Mon": 0, "Tue": 1, "Tues": 1, "Wed": 2, "Thu": 3, "Thurs": 3, "Fri": 4, "Sat": 5, "Sun": 6}
ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
ORDINAL_NUMBER = {word: i for i, word in enumerate(ORDINALS, 1)} | {"twentieth": 20, "thirtieth": 30}
for _tens, _name in ((20, "twenty"), (30, "thirty")):
    for _unit, _word in enumerate(ORDINALS[:9], 1):
        ORDINAL_NUMBER[f"{_name}-{_word}"] = ORDINAL_NUMBER[f"{_name} {_word}"] = _tens + _unit
HOURS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
MODIFIERS = (
    "after|before|around|by|about|no later than|no earlier than|not before|not later than|sometime after|"
    "sometime before|anytime after|any time before|earlier than|later than|shortly after|just before|"
    "prior to|approximately|until|towards"
)
LEADS = {"", "on", "on a", "at", "for", "in", "in the", "over", "over the", "on the", "for the", "during the"}
LEADS |= {"the", "at the"}  # "the" + "day after tomorrow", "at the" + "end of the month"


def _alt(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first so "Sept" is tried before "Sep"."""
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


MONTH = rf"(?:{_alt(MONTHS)}|(?:{_alt(MONTH_SHORT)})\.?)"
DAY = rf"(?:{_alt(DAYS)}|(?:{_alt(DAY_SHORT)})\.?)"
ORD_WORD = rf"(?:{_alt(ORDINAL_NUMBER)})"
ORDINAL = rf"(?:\d{{1,2}}(?:st|nd|rd|th)|{ORD_WORD})"
DAY_NUMBER = rf"(?:\d{{1,2}}|{ORDINAL})"
YEAR = r"20\d\d"
DATE = (
    rf"(?:(?:{DAY},? )?(?:{MONTH} {DAY_NUMBER}(?:,? {YEAR})?|\d{{1,2}}(?:st|nd|rd|th)? {MONTH}(?: {YEAR})?"
    rf"|(?:the )?{ORDINAL} of {MONTH}(?:,? {YEAR})?|\d{{1,2}}/\d{{1,2}}(?:/\d\d|/\d{{4}})?"
    r"|\d{4}-\d\d-\d\d))"
)
MONTH_ONLY = rf"(?:(?:early |late |mid |mid-)?{MONTH}(?: {YEAR})?)"
PERIOD = r"(?:(?:early |late |mid-)?(?:morning|afternoon)|(?:early |late )?evening|(?:late |late-)?night)"
MARKER = r"(?: ?(?:am|pm|AM|PM)| [ap]\.m\.)"
HOUR_WORD = rf"(?:{_alt(HOURS)})"
MINUTE_WORD = r"(?:oh five|ten|fifteen|twenty|thirty|forty-five)"
BARE = (
    rf"(?:(?:[1-9]|1[0-2])(?::[0-5]\d)?|{HOUR_WORD}(?: {MINUTE_WORD})?"
    rf"|(?:half|(?:a )?quarter) past (?:\d{{1,2}}|{HOUR_WORD})|(?:a )?quarter to (?:\d{{1,2}}|{HOUR_WORD}))"
)
CLOCK = (
    rf"(?:{BARE}{MARKER}?|(?:[01]\d|2[0-3]):[0-5]\d|(?:\d{{1,2}}|{HOUR_WORD}) o'clock"
    rf"|(?:12 |twelve )?(?:noon|midnight))"
)
WEEKDAY_REF = (
    rf"(?:(?:this |next |this coming |coming |the following |following )?{DAY}"
    rf"|{DAY} (?:next week|this week|after next))"
)
HOLIDAY = (
    r"(?:Christmas(?: Eve| Day)?|New Year's(?: Eve| Day)?|Thanksgiving|Easter(?: Sunday)?|Labor Day|"
    r"Memorial Day|Independence Day|the Fourth of July|Valentine's Day|Halloween|Boxing Day)"
)
COUNT = r"(?:a|one|1|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})"
UNIT = r"(?:days?|weeks?|months?)"

KIND_PATTERNS = {
    "date": rf"{DATE}|{MONTH_ONLY}",
    "day_of_month": rf"(?:{DAY} )?the {ORDINAL}|{ORDINAL} of (?:this|next|the|the following) month",
    "weekday": rf"{WEEKDAY_REF}(?: {PERIOD})?|(?:this|next) weekend|weekend(?: of {DATE})?",
    "relative_day": (
        rf"today|tomorrow|tonight|day after tomorrow|tomorrow {PERIOD}|this (?:morning|afternoon"
        r"|evening)|later today|later tonight|early tomorrow(?: morning)?|first thing tomorrow(?: morning)?"
        r"|late tomorrow night"
    ),
    "relative_period": (
        rf"in (?:{COUNT} {UNIT}|a couple of (?:days|weeks)|a few (?:days|weeks))"
        rf"|{COUNT} {UNIT} from (?:today|now|tomorrow|{DAY})|(?:next|this) (?:week|month|year)"
        r"|(?:early|late|later|sometime) (?:this|next) (?:week|month)|week after next"
        r"|(?:by|towards|around) the (?:end|beginning|start|middle) of (?:the|this|next) (?:month|week)"
        r"|(?:end|beginning|start|middle) of (?:the|this|next) (?:month|week)"
        rf"|within the next {COUNT} {UNIT}"
    ),
    "clock": CLOCK,
    "time_relative": (
        rf"(?:{MODIFIERS}) {CLOCK}|(?:before|by|after|no later than|sometime after|not before) "
        rf"(?:{DATE}|{WEEKDAY_REF}|tomorrow|tonight|the weekend|the end of the (?:week|month)|the {ORDINAL})"
        r"|(?:before|after) (?:lunch|dark|work)|before dinner"
    ),
    "period_of_day": rf"{PERIOD}|midday|lunchtime",
    "date_time": (
        rf"(?:tomorrow|today|{WEEKDAY_REF}|{MONTH} {DAY_NUMBER}) (?:{PERIOD}|(?:{MODIFIERS}) {CLOCK}|{CLOCK})"
        rf"|(?:(?:{MODIFIERS}) )?{CLOCK} (?:tomorrow|today|tonight|{WEEKDAY_REF})"
        rf"|(?:tomorrow|{WEEKDAY_REF}|{MONTH} {DAY_NUMBER}) in the (?:morning|afternoon|evening|night)"
    ),
    "range": rf"(?:between {CLOCK} and {CLOCK}|from {CLOCK} to {CLOCK}|{CLOCK} to {CLOCK})",
    "holiday": rf"{HOLIDAY}|Fourth of July|day (?:before|after) (?:Christmas|Thanksgiving|New Year's|Easter"
    r"|Labor Day|Memorial Day)",
    "clock_period": (
        rf"(?:(?:{MODIFIERS}) )?(?:\d{{1,2}}(?::[0-5]\d)?|{HOUR_WORD}"
        rf"|(?:half|quarter) past (?:\d{{1,2}}|{HOUR_WORD})|quarter to (?:\d{{1,2}}|{HOUR_WORD})"
        rf"|(?:\d{{1,2}}|{HOUR_WORD}) o'clock) in the (?:morning|afternoon|evening|night)"
    ),
}


def _draws(kind: str, count: int, seed: int = 0) -> list[TimePhrase]:
    rng = random.Random(seed)
    return [time_phrase_of_kind(rng, kind) for _ in range(count)]


_SAMPLES = {kind: _draws(kind, 1500) for kind in KINDS}


def _well_formed(phrase: TimePhrase) -> None:
    assert phrase.text, phrase
    for part in (phrase.lead, phrase.text):
        assert part == part.strip(), phrase
        assert "  " not in part, phrase
        assert "\n" not in part and "\t" not in part, phrase


def _follows_convention(phrase: TimePhrase) -> None:
    assert phrase.lead in LEADS, phrase
    assert not re.search(rf"\b(?:{MODIFIERS}|next|this|early|late)\b", phrase.lead), phrase
    assert not re.match(r"(?:on|at|for|in the|over|during) ", phrase.text), phrase
    # A leading "the" is the lead's, but for a day of the month said alone ("the 11th").
    if phrase.text.startswith("the "):
        assert re.fullmatch(rf"the {ORDINAL}", phrase.text), phrase
    # No preposition inside the span ("tomorrow at 6 pm" is two), but the "in the" of a clock time
    # with its part of the day ("8:15 in the evening").
    inner = re.sub(r" in the (?:morning|afternoon|evening|night)$", "", phrase.text)
    assert not re.search(r" (?:at|on|in the|for) ", f" {inner} "), phrase
    # A bare number is a time only after "at" (or a modifier, which is inside the text).
    if re.fullmatch(BARE, phrase.text):
        assert phrase.lead == "at", phrase


# Determinism.


def test_the_same_seed_gives_the_same_phrases() -> None:
    first, second = random.Random(42), random.Random(42)
    assert [time_phrase(first) for _ in range(300)] == [time_phrase(second) for _ in range(300)]


def test_the_same_seed_gives_the_same_phrases_of_each_kind() -> None:
    for kind in KINDS:
        assert _draws(kind, 50, seed=7) == _draws(kind, 50, seed=7)


def test_different_seeds_give_different_phrases() -> None:
    first, second = random.Random(1), random.Random(2)
    assert [time_phrase(first) for _ in range(50)] != [time_phrase(second) for _ in range(50)]


def test_only_the_rng_passed_in_is_used() -> None:
    random.seed(0)
    state = random.getstate()
    time_phrase(random.Random(5))
    assert random.getstate() == state


# Kinds.


def test_kinds_are_distinct_and_unknown_kinds_are_refused() -> None:
    assert len(set(KINDS)) == len(KINDS) >= 10
    with pytest.raises(ValueError, match="unknown time kind"):
        time_phrase_of_kind(random.Random(0), "fortnightly")


def test_time_phrase_draws_every_kind_dates_and_days_most(monkeypatch: pytest.MonkeyPatch) -> None:
    picked: Counter[str] = Counter()
    of_kind = times.time_phrase_of_kind

    def counting(rng: random.Random, kind: str) -> TimePhrase:
        picked[kind] += 1
        return of_kind(rng, kind)

    monkeypatch.setattr(times, "time_phrase_of_kind", counting)
    rng = random.Random(0)
    for _ in range(2000):
        time_phrase(rng)
    assert set(picked) == set(KINDS)
    assert all(picked[kind] >= 10 for kind in KINDS), picked
    common = [kind for kind, _ in picked.most_common(3)]
    assert {"date", "weekday"} <= set(common), picked
    assert picked["range"] < picked["date"] / 4 and picked["holiday"] < picked["weekday"] / 4, picked


@pytest.mark.parametrize("kind", KINDS)
def test_every_phrase_matches_its_kind(kind: str) -> None:
    pattern = re.compile(KIND_PATTERNS[kind])
    strays = [p.text for p in _SAMPLES[kind] if not pattern.fullmatch(p.text)]
    assert not strays, strays[:10]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_varied(kind: str) -> None:
    texts = {p.text for p in _SAMPLES[kind]}
    leads = {p.lead for p in _SAMPLES[kind]}
    # The closed classes (relative days, parts of the day, holidays) have fewer forms to give.
    assert len(texts) >= {"relative_day": 20, "period_of_day": 15, "holiday": 15}.get(kind, 100), len(texts)
    assert len(leads) >= (1 if kind in ("range", "time_relative") else 2), leads


# Surface forms the real requests use, each of which must come up.
EXPECTED = {
    "date": [
        rf"{_alt(MONTHS)} \d{{1,2}}(?:st|nd|rd|th)",  # November 2nd
        rf"(?:{_alt(MONTH_SHORT)}) \d{{1,2}}",  # Nov 2
        rf"(?:{_alt(MONTH_SHORT)})\. \d{{1,2}}(?:st|nd|rd|th)",  # Nov. 2nd
        rf"\d{{1,2}} {_alt(MONTHS)}",  # 2 November
        rf"\d{{1,2}}(?:st|nd|rd|th) of {_alt(MONTHS)}",  # 2nd of November
        rf"{_alt(MONTHS)} {_alt(ORDINALS)}",  # November second
        rf"{_alt(ORDINALS)} of {_alt(MONTHS)}",  # (the) second of November
        r"\d{1,2}/\d{1,2}",  # 11/2
        r"\d{4}-\d\d-\d\d",  # 2026-11-02
        rf"{_alt(MONTHS)} \d{{1,2}}(?:st|nd|rd|th)? {YEAR}",  # November 2nd 2027
        rf"{_alt(MONTHS)} \d{{1,2}}(?:st|nd|rd|th)?, {YEAR}",  # November 2nd, 2027
        rf"{DAY},? {MONTH} {DAY_NUMBER}",  # Friday, November 2nd
        rf"{_alt(MONTHS)}",  # (in) November
        rf"(?:early|late) {_alt(MONTHS)}",  # (in) early November
    ],
    "day_of_month": [
        r"the \d{1,2}(?:st|nd|rd|th)",
        rf"the {_alt(ORDINALS)}",
        r"\d{1,2}(?:st|nd|rd|th) of this month",  # (on the) 2nd of this month
        r"\d{1,2}(?:st|nd|rd|th) of next month",
        rf"{DAY} the \d{{1,2}}(?:st|nd|rd|th)",
    ],
    "weekday": [
        _alt(DAYS),
        rf"(?:{_alt(DAY_SHORT)})",
        rf"this {_alt(DAYS)}",
        rf"next {_alt(DAYS)}",
        rf"{_alt(DAYS)} next week",
        rf"{_alt(DAYS)} (?:morning|afternoon|evening|night)",
        "this weekend",
        "next weekend",
        "weekend",
    ],
    "relative_day": [
        "today",
        "tomorrow",
        "tonight",
        "day after tomorrow",  # (the) day after tomorrow
        "tomorrow morning",
        "tomorrow night",
        "this evening",
        "later today",
    ],
    "relative_period": [
        "in two weeks",
        r"in \d+ days",
        "in a week",
        "next week",
        "next month",
        "a week from today",
        "end of the month",  # (at the) end of the month
        "week after next",
    ],
    "clock": [
        r"\d{1,2}:\d\d pm",  # 6:30 pm
        r"\d{1,2}:\d\dpm",  # 6:30pm
        r"\d{1,2} pm",  # 6 pm
        r"\d{1,2}pm",  # 6pm
        r"\d{1,2} [ap]\.m\.",  # 6 p.m.
        r"1\d:\d\d",  # 18:30
        r"\d{1,2} o'clock",
        rf"{HOUR_WORD} o'clock",
        rf"half past {HOUR_WORD}",
        rf"(?:a )?quarter to {HOUR_WORD}",
        rf"{HOUR_WORD} {MINUTE_WORD}",  # six thirty
        "noon",
        "midnight",
        r"\d{1,2} am",
    ],
    "time_relative": [
        rf"after \d{{1,2}}{MARKER}",  # after 5 pm
        "before noon",
        r"around \d{1,2}",  # around 7
        r"by \d{1,2}",  # by 9
        rf"no later than \d{{1,2}}{MARKER}",  # no later than 8 pm
        rf"by {_alt(DAYS)}",  # by Friday
        rf"before {MONTH} {DAY_NUMBER}",  # before November 2nd
    ],
    "period_of_day": ["morning", "afternoon", "evening", "night", "early morning", "late afternoon"],
    "date_time": [
        rf"tomorrow {PERIOD}",
        rf"{_alt(DAYS)} (?:morning|afternoon|evening|night)",
        rf"{_alt(DAYS)} after {CLOCK}",
        rf"\d{{1,2}}{MARKER} tomorrow",  # 7 am tomorrow
        rf"{CLOCK} tonight",
        rf"{MONTH} {DAY_NUMBER} (?:{MODIFIERS}) {CLOCK}",
        rf"{_alt(DAYS)} in the (?:morning|afternoon|evening|night)",  # Friday in the evening
    ],
    "range": [
        rf"between \d{{1,2}} and \d{{1,2}}{MARKER}",  # between 2 and 5 pm
        rf"between \d{{1,2}}{MARKER} and \d{{1,2}}{MARKER}",  # between 2 pm and 5 pm
        rf"from \d{{1,2}} to \d{{1,2}}{MARKER}",  # from 9 to 11 am
        rf"between {CLOCK} and noon",
    ],
    "holiday": ["Christmas", "Thanksgiving", "New Year's Eve", r"day (?:before|after) \D+"],
    "clock_period": [
        r"\d{1,2}:\d\d in the (?:morning|afternoon|evening)",  # 8:15 in the evening
        r"half past \w+ in the \w+",
        r"quarter (?:past|to) \w+ in the \w+",
        rf"{HOUR_WORD} in the \w+",
        r"\w+ o'clock in the \w+",
    ],
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_forms_people_write_all_come_up(kind: str) -> None:
    texts = {p.text for p in _SAMPLES[kind]}
    missing = [form for form in EXPECTED[kind] if not any(re.fullmatch(form, text) for text in texts)]
    assert not missing


@pytest.mark.parametrize(
    ("kind", "lead", "text"),
    [
        ("date", "on", rf"{MONTH} {DAY_NUMBER}"),
        ("date", "", rf"{MONTH} {DAY_NUMBER}"),
        ("date", "in", MONTH),
        ("day_of_month", "on", rf"the {ORDINAL}"),
        ("weekday", "on", _alt(DAYS)),
        ("weekday", "", rf"next {_alt(DAYS)}"),
        ("weekday", "over the", "weekend"),
        ("relative_day", "", "tomorrow"),
        ("relative_day", "for", "tomorrow"),
        ("relative_period", "", "in two weeks"),
        ("relative_period", "at the", "end of the month"),
        ("relative_day", "the", "day after tomorrow"),
        ("date", "on the", rf"{ORDINAL} of {MONTH}"),
        ("day_of_month", "on the", rf"{ORDINAL} of this month"),
        ("clock_period", "at", r"\d{1,2}:\d\d in the evening"),
        ("clock", "at", r"\d{1,2}:\d\d pm"),
        ("clock", "at", r"\d{1,2}"),  # "at 7"
        ("clock", "", r"\d{1,2} pm"),
        ("time_relative", "", "before noon"),
        ("period_of_day", "in the", "morning"),
        ("period_of_day", "in the", "early morning"),
        ("period_of_day", "at", "night"),
        ("range", "", rf"between {CLOCK} and {CLOCK}"),
        ("holiday", "on", "Christmas Eve"),
    ],
)
def test_leads_and_spans_split_as_the_convention_says(kind: str, lead: str, text: str) -> None:
    assert any(p.lead == lead and re.fullmatch(text, p.text) for p in _SAMPLES[kind])


# Formatting and convention, for any seed.


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**64))
def test_phrases_are_well_formed_and_follow_the_convention(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(10):
        phrase = time_phrase(rng)
        _well_formed(phrase)
        _follows_convention(phrase)
    for kind in KINDS:
        phrase = time_phrase_of_kind(rng, kind)
        _well_formed(phrase)
        _follows_convention(phrase)


@pytest.mark.parametrize("kind", KINDS)
def test_every_sampled_phrase_follows_the_convention(kind: str) -> None:
    for phrase in _SAMPLES[kind]:
        _well_formed(phrase)
        _follows_convention(phrase)


def test_modifiers_are_inside_the_span() -> None:
    relative = _SAMPLES["time_relative"]
    assert all(p.lead == "" for p in relative)
    assert all(re.match(rf"(?:{MODIFIERS}) ", p.text) for p in relative)
    assert all(p.lead == "" for p in _SAMPLES["range"])


# Real dates.

_NAMED_DATE = re.compile(
    rf"(?:(?P<weekday>{DAY}),? )?(?:"
    rf"(?P<month1>{MONTH}) (?P<day1>{DAY_NUMBER})(?:,? (?P<year1>{YEAR}))?"
    rf"|(?P<day2>\d{{1,2}})(?:st|nd|rd|th)? (?P<month2>{MONTH})(?: (?P<year2>{YEAR}))?"
    rf"|(?:the )?(?P<day3>{ORDINAL}) of (?P<month3>{MONTH})(?:,? (?P<year3>{YEAR}))?)\b"
)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d\d))?\b|\b(\d{4})-(\d\d)-(\d\d)\b")


def _day_value(word: str) -> int:
    digits = re.match(r"\d+", word)
    return int(digits.group()) if digits else ORDINAL_NUMBER[word]


def _dates_in(text: str) -> list[tuple[int | None, int, int, str | None]]:
    """(year or None, month, day, weekday written or None) of every calendar date in ``text``."""
    found: list[tuple[int | None, int, int, str | None]] = []
    for match in _NAMED_DATE.finditer(text):
        group = next(i for i in "123" if match.group(f"month{i}"))
        month = MONTH_NUMBER[match.group(f"month{group}").rstrip(".")]
        year = match.group(f"year{group}")
        found.append(
            (int(year) if year else None, month, _day_value(match.group(f"day{group}")), match["weekday"])
        )
    for match in _NUMERIC_DATE.finditer(text):
        if match.group(4):
            found.append((int(match.group(4)), int(match.group(5)), int(match.group(6)), None))
        else:
            year = match.group(3)
            full = None if year is None else int(year) if len(year) == 4 else 2000 + int(year)
            found.append((full, int(match.group(1)), int(match.group(2)), None))
    return found


def test_dates_are_real_calendar_dates() -> None:
    checked = 0
    for kind in ("date", "time_relative", "date_time", "weekday"):
        for phrase in _SAMPLES[kind]:
            for year, month, day, weekday in _dates_in(phrase.text):
                checked += 1
                assert 1 <= month <= 12, phrase
                # Without a year, February 29th is still a real date (in a leap year).
                assert 1 <= day <= calendar.monthrange(year or 2028, month)[1], phrase
                if year is not None and weekday is not None:
                    name = weekday.rstrip(".")
                    expected = DAYS.index(name) if name in DAYS else DAY_SHORT[name]
                    assert datetime.date(year, month, day).weekday() == expected, phrase
    assert checked > 1500


def test_month_day_validity_over_many_seeds() -> None:
    rng = random.Random(99)
    for _ in range(3000):
        for year, month, day, _weekday in _dates_in(time_phrase_of_kind(rng, "date").text):
            assert day <= calendar.monthrange(year or 2028, month)[1]


def test_the_date_parser_of_these_tests_sees_bad_dates() -> None:
    assert _dates_in("February 30th") == [(None, 2, 30, None)]
    assert _dates_in("the thirty-first of Apr.") == [(None, 4, 31, None)]
    assert _dates_in("2026-11-02") == [(2026, 11, 2, None)]
    assert _dates_in("Friday, Nov. 2nd, 2029") == [(2029, 11, 2, "Friday")]
