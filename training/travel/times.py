"""Time and date expressions for the synthetic travel corpus, each with the words that introduce it.

A :class:`TimePhrase` is a ``lead`` (words before the slot, not labelled) and a ``text`` (the whole
span labelled ``time``): ``on`` + ``November 2nd``, ``in the`` + ``morning``, ``""`` + ``after 5 pm``.
The model learns where a time span starts and ends only from this data, and it is judged on ATIS-style
requests whose date/time labels (``depart_date.day_name``, ``depart_time.time_relative``,
``depart_time.period_of_day``, ...) are collapsed into one ``time`` slot with adjacent pieces merged.
So the boundaries here follow what that collapse gives:

- A preposition that merely introduces the time is the lead, outside the span: "on November 2nd",
  "at 6:30 pm", "for tomorrow", "in the morning", "over the weekend". ATIS tags those words ``O``.
  The article of such an idiom goes with the preposition ("in the" + "morning", "at" + "night").
- A word that changes the meaning is inside the span, because ATIS tags it (``time_relative``,
  ``date_relative``, ``period_mod``, ``today_relative``) next to the time it modifies, and adjacent
  pieces merge: "after 5 pm", "before noon", "around 7", "by 9", "no later than 8 pm", "early
  morning", "late afternoon", "next Friday", "this weekend", "tomorrow morning", "Monday afternoon".
  "by" always counts as a modifier (a deadline), never as a lead. Everything after a modifier is
  in the span too: "before the weekend", "towards the end of the month".
- A leading article is outside the span, as in both corpora of real requests at hand (ATIS and
  SGD's chat turns): "on the" + "3rd of March", "the" + "day after tomorrow", "the" + "end of the
  month", "over the" + "weekend". One exception, again as people's own annotations have it: a day
  of the month said alone keeps its article, since "the 11th" is that date's whole name ("on" +
  "the 11th"). "in" of a relative offset is part of it: "in two weeks" is the whole span, with an
  empty lead.
- A range is one span, connectives included: "between 2 pm and 5 pm", "from 9 to 11 am" (rare).
- Joined date and time: a date and a time are one span only when they touch, with no preposition
  between them: "tomorrow morning", "Friday after 5 pm", "7 am tomorrow", "November 2nd around noon".
  A time with its part of the day is one span, the "in the" between included: "at" + "8:15 in the
  evening", "half past 7 in the morning", "on" + "Friday in the evening" (how people say it, and
  how SGD annotates it; ATIS tags the "in the" ``O``, and ``bench/default_model.py`` joins its two
  pieces). Otherwise nothing here contains an inner "at", "on" or "in the" ("tomorrow at 6 pm"):
  those are two phrases side by side ("tomorrow" + "at" + "6 pm").
- A bare number ("7", "6:30", "seven") is a time only after "at" or a modifier, so it never comes with
  an empty lead on its own.

Surface forms vary widely (digits and words, "Nov", "Nov.", "11/2", "2026-11-02", "6pm", "6 p.m.",
"18:30", "half past six") in canonical casing: months and days capitalised, no typos. The caller
lowercases, uppercases and misspells. Dates are real calendar dates (no February 30th). All randomness
comes from the ``random.Random`` passed in, so a seed gives the same phrases every time.

>>> import random
>>> phrase = time_phrase(random.Random(0))
>>> phrase == time_phrase(random.Random(0))
True
>>> time_phrase_of_kind(random.Random(3), "range").text.startswith(("between ", "from "))
True
"""

from __future__ import annotations

import calendar
import datetime
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class TimePhrase:
    """A time expression and the words that introduce it."""

    lead: str  # words before the slot, NOT part of the span: "on", "at", "for", "in the", "" ...
    text: str  # the slot's surface text, the whole span labelled `time`: "November 2nd", "after 5 pm"


# Closed word classes.
_MONTHS = (
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
)
_MONTH_ABBREVIATIONS: tuple[tuple[str, ...], ...] = (
    ("Jan",),
    ("Feb",),
    ("Mar",),
    ("Apr",),
    (),  # "May" has no shorter form
    ("Jun",),
    ("Jul",),
    ("Aug",),
    ("Sep", "Sept"),
    ("Oct",),
    ("Nov",),
    ("Dec",),
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_ABBREVIATIONS: tuple[tuple[str, ...], ...] = (
    ("Mon",),
    ("Tue", "Tues"),
    ("Wed",),
    ("Thu", "Thurs"),
    ("Fri",),
    ("Sat",),
    ("Sun",),
)
_ORDINAL_WORDS = (
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
)
_HOUR_WORDS = (
    "twelve",  # index 0 stands for 12 on a clock face
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
)
_MINUTE_WORDS = {5: "oh five", 10: "ten", 15: "fifteen", 20: "twenty", 30: "thirty", 45: "forty-five"}
_COUNT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_PERIODS = ("morning", "afternoon", "evening", "night")
_HOLIDAYS = (
    "Christmas",
    "Christmas Eve",
    "Christmas Day",
    "New Year's Eve",
    "New Year's Day",
    "New Year's",
    "Thanksgiving",
    "Easter",
    "Easter Sunday",
    "Labor Day",
    "Memorial Day",
    "Independence Day",
    "the Fourth of July",
    "Valentine's Day",
    "Halloween",
    "Boxing Day",
)
# Time modifiers (ATIS time_relative), with how often each is used.
_MODIFIERS: tuple[tuple[str, float], ...] = (
    ("after", 5.0),
    ("before", 5.0),
    ("around", 3.0),
    ("by", 2.0),
    ("about", 1.0),
    ("no later than", 1.0),
    ("no earlier than", 0.5),
    ("not before", 0.3),
    ("not later than", 0.3),
    ("sometime after", 0.4),
    ("sometime before", 0.3),
    ("anytime after", 0.3),
    ("any time before", 0.2),
    ("earlier than", 0.3),
    ("later than", 0.3),
    ("shortly after", 0.3),
    ("just before", 0.3),
    ("prior to", 0.2),
    ("approximately", 0.3),
    ("until", 0.3),
)
# Modifiers that read well before a date or day ("by Friday", "before November 2nd").
_DATE_MODIFIERS: tuple[tuple[str, float], ...] = (
    ("before", 3.0),
    ("by", 3.0),
    ("after", 2.0),
    ("no later than", 1.0),
    ("sometime after", 0.3),
    ("not before", 0.3),
)

# A day of the month said alone, which keeps its article: "the 11th", "the twenty-sixth".
_DAY_ALONE = re.compile(r"(?:\d{1,2}|[a-z]+(?:[ -][a-z]+)?)(?:st|nd|rd|th)")

# Kinds of expression, with how often :func:`time_phrase` picks each.
_WEIGHTS: dict[str, float] = {
    "date": 22.0,
    "day_of_month": 5.0,
    "weekday": 18.0,
    "relative_day": 13.0,
    "relative_period": 7.0,
    "clock": 11.0,
    "time_relative": 9.0,
    "period_of_day": 6.0,
    "date_time": 6.0,
    "range": 3.0,
    "holiday": 1.5,
    "clock_period": 2.5,
}
KINDS: tuple[str, ...] = tuple(_WEIGHTS)


# Small helpers.


def _choose(rng: random.Random, options: Sequence[tuple[_T, float]]) -> _T:
    """One of ``options``, each ``(value, weight)``."""
    values = [value for value, _ in options]
    weights = [weight for _, weight in options]
    return rng.choices(values, weights)[0]


def _chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _suffix(number: int) -> str:
    if 11 <= number % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def _ordinal_word(number: int, rng: random.Random) -> str:
    """1 -> "first", 21 -> "twenty-first" or "twenty first", 30 -> "thirtieth"."""
    if number < 20:
        return _ORDINAL_WORDS[number - 1]
    tens, unit = divmod(number, 10)
    tens_word = ("twenty", "thirty")[tens - 2]
    if unit == 0:
        return tens_word[:-1] + "ieth"
    return tens_word + rng.choice(("-", "-", " ")) + _ORDINAL_WORDS[unit - 1]


def _day_number(number: int, rng: random.Random, *, plain: bool = True, word: bool = True) -> str:
    """A day of the month: "2", "2nd" or "second" (``plain`` and ``word`` allow the first and last)."""
    options: list[tuple[str, float]] = [(f"{number}{_suffix(number)}", 5.0)]
    if plain:
        options.append((str(number), 3.0))
    if word:
        options.append((_ordinal_word(number, rng), 2.0))
    return _choose(rng, options)


def _ordinal(number: int, rng: random.Random) -> str:
    """An ordinal for "the Nth": "11th" or "eleventh"."""
    return _day_number(number, rng, plain=False)


def _month_name(month: int, rng: random.Random, *, abbreviate: float = 0.3) -> str:
    """The name of ``month`` (1-12): November, Nov or Nov."""
    short = _MONTH_ABBREVIATIONS[month - 1]
    if short and _chance(rng, abbreviate):
        return rng.choice(short) + rng.choice(("", "", "."))
    return _MONTHS[month - 1]


def _day_name(weekday: int, rng: random.Random, *, abbreviate: float = 0.12) -> str:
    """The name of ``weekday`` (0 is Monday): Friday, Fri or Fri."""
    if _chance(rng, abbreviate):
        return rng.choice(_DAY_ABBREVIATIONS[weekday]) + rng.choice(("", "", "."))
    return _DAYS[weekday]


_DATE_LEADS = (("on", 6.0), ("", 3.0), ("for", 1.0))
_DAY_LEADS = (("on", 6.5), ("", 2.5), ("for", 1.0))
# "flights on a Saturday": the article belongs to the lead, the day name is the slot.
_WEEKDAY_LEADS = (*_DAY_LEADS, ("on a", 0.8))
_RELATIVE_LEADS = (("", 8.0), ("for", 2.0))
_CLOCK_LEADS = (("at", 7.5), ("", 2.0), ("for", 0.5))


# Dates.


def _random_date(rng: random.Random) -> datetime.date:
    year = rng.randint(2025, 2030)
    month = rng.randint(1, 12)
    day = rng.randint(1, calendar.monthrange(year, month)[1])
    return datetime.date(year, month, day)


def _date_text(rng: random.Random, date: datetime.date, *, year: bool | None = None) -> str:
    """A calendar date in one of many written forms; ``year`` None picks whether to show the year."""
    show_year = _chance(rng, 0.15) if year is None else year
    form = _choose(
        rng, (("month_day", 10.0), ("day_month", 3.0), ("of", 3.0), ("numeric", 1.5), ("iso", 0.5))
    )
    if form == "iso":
        return date.isoformat()
    if form == "numeric":
        month = f"{date.month:02d}" if _chance(rng, 0.3) else str(date.month)
        day = f"{date.day:02d}" if _chance(rng, 0.3) else str(date.day)
        if show_year:
            return f"{month}/{day}/{rng.choice((str(date.year), f'{date.year % 100:02d}'))}"
        return f"{month}/{day}"
    year_text = ""
    if show_year:
        year_text = str(date.year)
    if form == "month_day":
        text = _join(_month_name(date.month, rng), _day_number(date.day, rng))
        if year_text:
            text += rng.choice((" ", ", ")) + year_text
    elif form == "day_month":
        text = _join(_day_number(date.day, rng, word=False), _month_name(date.month, rng), year_text)
    else:
        the = "the" if _chance(rng, 0.6) else ""
        month = _month_name(date.month, rng, abbreviate=0.1)
        text = _join(the, _ordinal(date.day, rng), "of", month)
        if year_text:
            text += rng.choice((" ", ", ")) + year_text
    if _chance(rng, 0.08) and not text.startswith("the "):
        # The weekday the date really falls on (in the year drawn, shown or not).
        text = _day_name(date.weekday(), rng, abbreviate=0.0) + rng.choice((" ", ", ")) + text
    return text


def _month_only(rng: random.Random) -> TimePhrase:
    month = _month_name(rng.randint(1, 12), rng, abbreviate=0.05)
    part = _choose(rng, (("", 5.0), ("early", 1.5), ("mid-", 1.0), ("mid", 0.5), ("late", 1.5)))
    text = part + month if part == "mid-" else _join(part, month)
    if _chance(rng, 0.1):
        text += f" {rng.randint(2025, 2030)}"
    return TimePhrase(_choose(rng, (("in", 7.0), ("", 2.0), ("for", 1.0))), text)


def _date(rng: random.Random) -> TimePhrase:
    if _chance(rng, 0.08):
        return _month_only(rng)
    return TimePhrase(_choose(rng, _DATE_LEADS), _date_text(rng, _random_date(rng)))


def _day_of_month(rng: random.Random) -> TimePhrase:
    day = rng.randint(1, 31)
    nth = _ordinal(day, rng)
    whose = _choose(
        rng,
        (
            ("", 6.0),
            ("of this month", 2.0),
            ("of next month", 2.0),
            ("of the month", 0.5),
            ("of the following month", 0.3),
        ),
    )
    if not whose and _chance(rng, 0.12):
        # "Friday the 13th": a day name and its date.
        return TimePhrase(_choose(rng, _DAY_LEADS), _join(_day_name(rng.randrange(7), rng), "the", nth))
    return TimePhrase(_choose(rng, (("on", 6.0), ("", 2.0), ("for", 1.0))), _join("the", nth, whose))


# Days of the week.


def _weekday_text(rng: random.Random, *, abbreviate: float = 0.12) -> tuple[str, bool]:
    """A weekday reference and whether it is a bare day name ("Friday") rather than "next Friday"."""
    day = _day_name(rng.randrange(7), rng, abbreviate=abbreviate)
    form = _choose(
        rng,
        (
            ("", 10.0),
            ("this", 2.5),
            ("next", 3.0),
            ("this coming", 0.5),
            ("coming", 0.2),
            ("the following", 0.3),
            ("next week", 0.6),
            ("this week", 0.3),
            ("after next", 0.2),
        ),
    )
    if not form:
        return day, True
    if form in ("next week", "this week", "after next"):
        return f"{day} {form}", False
    return f"{form} {day}", False


def _weekday(rng: random.Random) -> TimePhrase:
    shape = _choose(rng, (("day", 10.0), ("day_period", 2.0), ("weekend", 1.5)))
    if shape == "weekend":
        form = _choose(rng, (("this weekend", 3.0), ("next weekend", 2.0), ("the weekend", 2.5)))
        if form != "the weekend":
            return TimePhrase(_choose(rng, (("", 7.0), ("for", 2.0), ("over", 1.0))), form)
        # The article of "over the weekend" is the lead's, as with "in the morning".
        lead = _choose(rng, (("over the", 3.0), ("on the", 2.0), ("for the", 1.0), ("during the", 0.5)))
        if _chance(rng, 0.15):
            return TimePhrase(lead, "weekend of " + _date_text(rng, _random_date(rng), year=False))
        return TimePhrase(lead, "weekend")
    text, bare = _weekday_text(rng)
    if shape == "day_period":
        text = _join(text, _period(rng))
    return TimePhrase(_choose(rng, _WEEKDAY_LEADS if bare else (("", 7.5), ("on", 1.5), ("for", 1.0))), text)


# Days and periods relative to today.


_PERIOD_MODIFIERS: dict[str, tuple[tuple[str, float], ...]] = {
    "morning": (("", 8.0), ("early", 2.0), ("late", 1.0), ("mid-", 0.4)),
    "afternoon": (("", 8.0), ("early", 1.0), ("late", 1.5), ("mid-", 0.4)),
    "evening": (("", 8.0), ("early", 1.5), ("late", 1.5)),
    "night": (("", 8.0), ("late", 1.0), ("late-", 0.4)),
}


def _period(rng: random.Random) -> str:
    """A part of the day, perhaps with its modifier: "morning", "early morning", "late afternoon"."""
    period = _choose(rng, (("morning", 4.0), ("afternoon", 3.0), ("evening", 3.0), ("night", 2.0)))
    modifier = _choose(rng, _PERIOD_MODIFIERS[period])
    return modifier + period if modifier.endswith("-") else _join(modifier, period)


def _relative_day(rng: random.Random) -> TimePhrase:
    form = _choose(
        rng,
        (
            ("today", 3.0),
            ("tomorrow", 6.0),
            ("tonight", 2.0),
            ("the day after tomorrow", 1.5),
            ("day after tomorrow", 0.4),
            ("tomorrow_period", 2.5),
            ("this_period", 1.5),
            ("later today", 0.6),
            ("later tonight", 0.2),
            ("early tomorrow", 0.4),
            ("first thing tomorrow", 0.3),
            ("early tomorrow morning", 0.2),
            ("late tomorrow night", 0.1),
        ),
    )
    if form == "tomorrow_period":
        form = _join("tomorrow", _period(rng))
    elif form == "this_period":
        form = _join("this", _choose(rng, (("morning", 1.0), ("afternoon", 2.0), ("evening", 2.0))))
    elif form == "first thing tomorrow" and _chance(rng, 0.4):
        form += " morning"
    return TimePhrase(_choose(rng, _RELATIVE_LEADS), form)


def _count(rng: random.Random, unit: str, *, most: int) -> str:
    """A number of ``unit``: "a week", "two weeks", "3 weeks" (``most`` caps the number)."""
    number = rng.randint(1, most)
    if number == 1:
        return f"{rng.choice(('a', 'one', 'a', '1'))} {unit}"
    written = _COUNT_WORDS[number] if number < len(_COUNT_WORDS) and _chance(rng, 0.6) else str(number)
    return f"{written} {unit}s"


def _relative_period(rng: random.Random) -> TimePhrase:
    form = _choose(
        rng,
        (
            ("in", 4.0),
            ("from", 1.5),
            ("next", 3.0),
            ("this", 1.0),
            ("part_of_week", 1.5),
            ("edge", 1.2),
            ("week_after_next", 0.4),
            ("within", 0.3),
        ),
    )
    if form == "in":
        unit = _choose(rng, (("day", 4.0), ("week", 4.0), ("month", 1.0), ("couple", 1.0), ("few", 1.0)))
        if unit == "couple":
            amount = f"a couple of {rng.choice(('days', 'weeks'))}"
        elif unit == "few":
            amount = f"a few {rng.choice(('days', 'weeks'))}"
        else:
            amount = _count(rng, unit, most={"day": 10, "week": 4, "month": 3}[unit])
        return TimePhrase("", f"in {amount}")
    if form == "from":
        amount = _count(rng, rng.choice(("day", "week", "week")), most=3)
        since = _choose(rng, (("today", 3.0), ("now", 2.0), ("tomorrow", 1.5), ("weekday", 1.0)))
        if since == "weekday":
            since = _DAYS[rng.randrange(7)]
        return TimePhrase("", f"{amount} from {since}")
    if form in ("next", "this"):
        unit = _choose(rng, (("week", 5.0), ("month", 3.0), ("year", 0.3)))
        if form == "this" and unit == "year":
            unit = "month"
        return TimePhrase(_choose(rng, (("", 8.0), ("for", 2.0))), f"{form} {unit}")
    if form == "part_of_week":
        text = rng.choice(
            (
                "early next week",
                "later this week",
                "later next week",
                "sometime next week",
                "late next week",
                "sometime this week",
                "early next month",
                "sometime next month",
                "later this month",
            )
        )
        return TimePhrase("", text)
    if form == "edge":
        edge = rng.choice(("end", "end", "beginning", "start", "middle"))
        whole = rng.choice(("the month", "this month", "next month", "the week", "this week", "next week"))
        text = f"the {edge} of {whole}"
        modifier = _choose(rng, (("", 6.0), ("by", 3.0), ("towards", 0.7), ("around", 0.5)))
        if modifier:
            return TimePhrase("", f"{modifier} {text}")
        return TimePhrase(_choose(rng, (("at", 3.0), ("", 1.0))), text)
    if form == "within":
        return TimePhrase("", f"within the next {_count(rng, rng.choice(('day', 'week')), most=3)}")
    return TimePhrase(_choose(rng, (("", 3.0), ("for", 1.0))), "the week after next")


# Clock times.


# The ways of writing am/pm, with their leading space if any ("6 pm", "6pm").
_MARKERS: tuple[tuple[tuple[str, str], float], ...] = (
    ((" am", " pm"), 6.0),
    (("am", "pm"), 3.0),
    ((" a.m.", " p.m."), 1.5),
    ((" AM", " PM"), 1.5),
    (("AM", "PM"), 0.5),
)
_SPACED_MARKERS = tuple(option for option in _MARKERS if option[0][0].startswith(" "))


def _marker_style(rng: random.Random, *, attached: bool = True) -> tuple[str, str]:
    """One way of writing am/pm; ``attached`` allows "6pm" as well as "6 pm" (not after a word)."""
    return _choose(rng, _MARKERS if attached else _SPACED_MARKERS)


def _marker(hour: int, style: tuple[str, str]) -> str:
    return style[0] if hour < 12 else style[1]


def _minute(rng: random.Random) -> int:
    return _choose(
        rng,
        ((0, 12.0), (30, 5.0), (15, 3.0), (45, 3.0), (10, 1.0), (20, 1.0), (40, 1.0), (50, 1.0), (5, 0.5)),
    )


def _twelve(hour: int) -> int:
    return hour % 12 or 12


def _digits(hour: int, minute: int, rng: random.Random) -> str:
    """The 12-hour clock in digits: "6", "6:00" or "6:30"."""
    if minute == 0 and _chance(rng, 0.8):
        return str(_twelve(hour))
    return f"{_twelve(hour)}:{minute:02d}"


def _hour_word(hour: int) -> str:
    return _HOUR_WORDS[_twelve(hour) % 12]


def _clock(rng: random.Random, *, hour: int | None = None, unit: bool = False) -> tuple[str, bool]:
    """A clock time and whether it stands on its own ("6 pm", "18:30", "noon") or needs a cue ("6:30").

    ``hour`` (0-23) fixes the hour; ``unit`` asks for a self-standing form only.
    """
    if hour is None:
        hour = _choose(rng, tuple((h, 3.0 if 6 <= h <= 21 else 0.6) for h in range(24)))
    if hour in (0, 12) and _chance(rng, 0.35):
        word = "noon" if hour == 12 else "midnight"
        return (rng.choice((f"12 {word}", f"twelve {word}")) if _chance(rng, 0.15) else word), True
    minute = _minute(rng)
    form = _choose(rng, (("digits", 12.0), ("24h", 1.5), ("words", 2.5), ("past", 1.0), ("oclock", 1.0)))
    if form == "24h" and (hour >= 13 or (hour < 10 and _chance(rng, 0.4))):
        # Only where it cannot pass for the 12-hour clock: "18:30", "07:45" (not "10:30", nor "7:45").
        return f"{hour:02d}:{minute:02d}", True
    if form == "oclock" and minute == 0:
        return f"{str(_twelve(hour)) if _chance(rng, 0.5) else _hour_word(hour)} o'clock", True
    if form == "past" and minute in (15, 30, 45):
        # "half past six", "quarter to seven"; the hour named is the next one for "to".
        named = hour + 1 if minute == 45 else hour
        number = str(_twelve(named)) if _chance(rng, 0.3) else _hour_word(named)
        if minute == 45:
            text = f"{rng.choice(('quarter', 'a quarter'))} to {number}"
        else:
            text = f"{'half' if minute == 30 else rng.choice(('quarter', 'a quarter'))} past {number}"
        with_unit = unit or _chance(rng, 0.3)
        attached = False
    elif form == "words" and minute in (0, *_MINUTE_WORDS):
        text = _join(_hour_word(hour), _MINUTE_WORDS.get(minute, ""))
        with_unit = unit or _chance(rng, 0.6)
        attached = False
    else:
        text = _digits(hour, minute, rng)
        with_unit = unit or _chance(rng, 0.85)
        attached = True
    if with_unit:
        text += _marker(hour, _marker_style(rng, attached=attached))
    return text, with_unit


def _clock_phrase(rng: random.Random) -> TimePhrase:
    text, standing = _clock(rng)
    lead = _choose(rng, _CLOCK_LEADS) if standing else "at"
    if text in ("noon", "midnight") and lead == "for":
        lead = "at"
    return TimePhrase(lead, text)


def _time_relative(rng: random.Random) -> TimePhrase:
    target = _choose(rng, (("clock", 8.0), ("date", 1.2), ("day", 1.2), ("period", 0.6)))
    if target == "clock":
        modifier = _choose(rng, _MODIFIERS)
        return TimePhrase("", f"{modifier} {_clock(rng)[0]}")
    modifier = _choose(rng, _DATE_MODIFIERS)
    if target == "date":
        when = _date_text(rng, _random_date(rng))
    elif target == "day":
        when = rng.choice(
            (
                _weekday_text(rng, abbreviate=0.0)[0],
                "tomorrow",
                "tonight" if modifier != "after" else "tomorrow",
                "the weekend",
                "the end of the week",
                "the end of the month",
                "the " + _ordinal(rng.randint(1, 31), rng),
            )
        )
    else:
        when = rng.choice(("lunch", "dark", "work", "dinner"))
        modifier = "before" if when == "dinner" else rng.choice(("before", "after", "after"))
    return TimePhrase("", f"{modifier} {when}")


def _clock_period(rng: random.Random) -> TimePhrase:
    """A clock time with its part of the day and no am/pm: "8:15 in the evening", "half past 7 in
    the morning", "six o'clock in the evening"."""
    period, hours = _choose(
        rng,
        (
            (("morning", (5, 11)), 4.0),
            (("afternoon", (12, 16)), 3.0),
            (("evening", (17, 21)), 3.0),
            (("night", (20, 23)), 0.6),
        ),
    )
    hour = rng.randint(*hours)
    minute = _minute(rng)
    form = _choose(rng, (("digits", 6.0), ("word", 2.0), ("past", 2.0), ("oclock", 1.0)))
    number = str(_twelve(hour)) if _chance(rng, 0.6) else _hour_word(hour)
    if form == "past" and minute in (15, 30, 45):
        named = _twelve(hour + 1) if minute == 45 else _twelve(hour)
        named_text = str(named) if number.isdigit() else _HOUR_WORDS[named % 12]
        clock = {15: "quarter past", 30: "half past", 45: "quarter to"}[minute] + f" {named_text}"
    elif form == "oclock":
        clock = f"{number} o'clock"
    elif form == "word":
        clock = _hour_word(hour)
    else:
        clock = _digits(hour, minute, rng)
    text = f"{clock} in the {period}"
    if _chance(rng, 0.1):
        return TimePhrase("", f"{_choose(rng, _MODIFIERS)} {text}")  # a modifier is in the span
    return TimePhrase(_choose(rng, (("at", 6.0), ("", 2.0))), text)


def _period_of_day(rng: random.Random) -> TimePhrase:
    if _chance(rng, 0.06):
        return TimePhrase(_choose(rng, (("at", 2.0), ("", 1.0))), rng.choice(("midday", "lunchtime")))
    period = _period(rng)
    if period == "night":
        return TimePhrase(_choose(rng, (("at", 5.0), ("", 1.0), ("for the", 0.5))), period)
    if period.endswith("night"):
        return TimePhrase("", period)
    lead = _choose(rng, (("in the", 8.0), ("", 2.5), ("during the", 1.0), ("for the", 0.5)))
    return TimePhrase(lead, period)


def _date_part(rng: random.Random, *, before_time: bool) -> tuple[str, str]:
    """The day of a joined date and time, with the lead it takes when it comes first.

    Before a time ("Friday after 5 pm") it may be a calendar date in its plainest form; after one
    ("7 am tomorrow") only a day word reads naturally.
    """
    options = [("tomorrow", 4.0), ("today", 1.0), ("weekday", 4.0)]
    options.append(("date", 2.0) if before_time else ("tonight", 1.0))
    form = _choose(rng, options)
    if form in ("tomorrow", "today", "tonight"):
        return form, _choose(rng, _RELATIVE_LEADS)
    if form == "weekday":
        text, bare = _weekday_text(rng, abbreviate=0.05)
        return text, _choose(rng, _DAY_LEADS if bare else (("", 8.0), ("on", 2.0)))
    date = _random_date(rng)
    text = _join(_month_name(date.month, rng), _day_number(date.day, rng))
    return text, _choose(rng, _DATE_LEADS)


def _date_time(rng: random.Random) -> TimePhrase:
    """A day and a time side by side, no preposition between: one span (see the module docstring)."""
    order = _choose(
        rng,
        (("day_period", 4.0), ("day_modified", 3.0), ("day_clock", 0.8), ("clock_day", 3.0), ("in_the", 1.5)),
    )
    if order == "clock_day":
        day, _ = _date_part(rng, before_time=False)
        hour = rng.randint(18, 23) if day == "tonight" else None
        clock = _clock(rng, hour=hour, unit=True)[0]
        if _chance(rng, 0.25):
            return TimePhrase("", _join(_choose(rng, _MODIFIERS), clock, day))
        return TimePhrase(_choose(rng, (("at", 3.0), ("", 2.0))), _join(clock, day))
    day, lead = _date_part(rng, before_time=True)
    if order in ("day_period", "in_the"):
        if day == "today":
            day = "tomorrow"  # "today morning" is not English; "this morning" is a relative_day
        period = _period(rng)
        if order == "in_the" and " " not in period and "-" not in period:
            return TimePhrase(lead, f"{day} in the {period}")  # "Friday in the evening"
        return TimePhrase(lead, _join(day, period))
    if order == "day_modified":
        return TimePhrase(lead, _join(day, _choose(rng, _MODIFIERS), _clock(rng)[0]))
    # "Friday 6 pm": digits and am/pm only, the way people write it in a chat.
    hour = rng.randint(6, 22)
    return TimePhrase(lead, _join(day, _digits(hour, _minute(rng), rng) + _marker(hour, _marker_style(rng))))


# Ranges.


def _range(rng: random.Random) -> TimePhrase:
    """Two times with their connectives, one span: "between 2 and 5 pm", "from 9 am to 11 am"."""
    start = rng.randint(5, 20)
    end = rng.randint(start + 1, min(start + 6, 23))
    start_minute = _choose(rng, ((0, 6.0), (30, 2.0), (15, 0.5), (45, 0.5)))
    end_minute = _choose(rng, ((0, 6.0), (30, 2.0), (15, 0.5), (45, 0.5)))
    if _chance(rng, 0.08):
        first, second = f"{start:02d}:{start_minute:02d}", f"{end:02d}:{end_minute:02d}"
    else:
        words = _chance(rng, 0.12)
        style = _marker_style(rng, attached=not words)

        def written(hour: int, minute: int) -> str:
            if hour == 12 and minute == 0 and _chance(rng, 0.5):
                return "noon"
            if words:
                return _join(_hour_word(hour), _MINUTE_WORDS.get(minute, ""))
            return _digits(hour, minute, rng)

        first, second = written(start, start_minute), written(end, end_minute)
        if first != "noon" and (not _same_half(start, end) or _chance(rng, 0.5)):
            first += _marker(start, style)
        if second != "noon":
            second += _marker(end, style)
    form = _choose(rng, (("between", 6.0), ("from", 1.5), ("to", 0.8)))
    if form == "between":
        return TimePhrase("", f"between {first} and {second}")
    if form == "from":
        return TimePhrase("", f"from {first} to {second}")
    return TimePhrase("", f"{first} to {second}")


def _same_half(start: int, end: int) -> bool:
    """Whether one am/pm marker covers both hours ("2 and 5 pm"; not "11 and 1 pm")."""
    return (start < 12) == (end < 12) and end != 12


def _holiday(rng: random.Random) -> TimePhrase:
    if _chance(rng, 0.1):
        name = rng.choice(("Christmas", "Thanksgiving", "New Year's", "Easter", "Labor Day", "Memorial Day"))
        side = rng.choice(("before", "after"))
        return TimePhrase(_choose(rng, (("on", 2.0), ("", 1.0))), f"the day {side} {name}")
    name = rng.choice(_HOLIDAYS)
    leads: tuple[tuple[str, float], ...] = (("on", 4.0), ("", 2.0), ("for", 2.0), ("over", 1.0))
    if name.endswith(("Eve", "Day")):
        leads = (("on", 5.0), ("", 2.0), ("for", 1.5))
    return TimePhrase(_choose(rng, leads), name)


_GENERATORS = {
    "date": _date,
    "day_of_month": _day_of_month,
    "weekday": _weekday,
    "relative_day": _relative_day,
    "relative_period": _relative_period,
    "clock": _clock_phrase,
    "time_relative": _time_relative,
    "period_of_day": _period_of_day,
    "date_time": _date_time,
    "range": _range,
    "holiday": _holiday,
    "clock_period": _clock_period,
}


def time_phrase_of_kind(rng: random.Random, kind: str) -> TimePhrase:
    """A time expression of one kind (one of :data:`KINDS`), all randomness from ``rng``."""
    try:
        generate = _GENERATORS[kind]
    except KeyError:
        raise ValueError(f"unknown time kind {kind!r}: choose one of {', '.join(KINDS)}") from None
    return _article_out(generate(rng))


def _article_out(phrase: TimePhrase) -> TimePhrase:
    """Move a leading "the" into the lead, unless the phrase is a day of the month alone.

    >>> _article_out(TimePhrase("on", "the 3rd of March"))
    TimePhrase(lead='on the', text='3rd of March')
    >>> _article_out(TimePhrase("on", "the twenty sixth"))
    TimePhrase(lead='on', text='the twenty sixth')
    >>> _article_out(TimePhrase("", "the following Friday"))
    TimePhrase(lead='the', text='following Friday')
    """
    if not phrase.text.startswith("the "):
        return phrase
    rest = phrase.text.removeprefix("the ")
    if _DAY_ALONE.fullmatch(rest):
        return phrase
    return TimePhrase(_join(phrase.lead, "the"), rest)


def time_phrase(rng: random.Random) -> TimePhrase:
    """A time expression of a kind picked by weight: dates and day names common, ranges rare."""
    kind = rng.choices(KINDS, [_WEIGHTS[kind] for kind in KINDS])[0]
    return time_phrase_of_kind(rng, kind)
