"""The travel corpus: annotated requests generated from :mod:`~training.travel.phrasings`, places from
:mod:`~training.travel.places` and times from :mod:`~training.travel.times`, made noisy by
:mod:`~training.travel.noise`, and written as JSONL splits any ``slotfill`` command reads.

Splits: ``train``, ``dev`` and ``test`` use the places training may see; ``unseen`` uses only the
held-out places, so its score is the score on place names the model never met. Every split has its
own random stream derived from the seed, so the same seed gives the same files byte for byte and
changing the size of dev, test or unseen leaves the other splits unchanged; evaluation sentences
that repeat a train sentence are replaced in place, so a bigger train changes only those.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from slotfill.model.spans import Span, spans_to_tags
from slotfill.model.tokenize import tokenize
from slotfill.training.data import Example
from slotfill.training.formats.detect import write_split
from slotfill.training.travel.grammar import Grammar, Piece
from slotfill.training.travel.noise import perturb
from slotfill.training.travel.phrasings import AIRLINES, INTENT_TEMPLATES, INTENT_WEIGHTS, RULES
from slotfill.training.travel.places import Gazetteer, load_gazetteer
from slotfill.training.travel.times import time_phrase, time_phrase_of_kind
from slotfill.training.travel.turns import chat_turn

logger = logging.getLogger(__name__)

SLOTS = ("departure", "dest", "time")
# Grammar slot name -> the slot it annotates; "place" (a place that is neither end of a trip) is O.
_LABELS = {"departure": "departure", "dest": "dest", "time": "time", "time_bare": "time", "time_noun": "time"}
# The default sizes: enough variety for the default model, small enough to train it in a minute.
DEFAULT_SIZES: Mapping[str, int] = {"train": 12000, "dev": 1000, "test": 1000, "unseen": 1000}
DEFAULT_SEED = 2026
# Share of trip requests written as a chat message of several sentences (training.travel.turns).
CHAT_TURN_SHARE = 0.5
_PUNCTUATION = frozenset(",.?!")


@dataclass(frozen=True, slots=True)
class Utterance:
    """A generated request: its text, character spans ``(slot, start, end)`` and intent."""

    text: str
    slots: tuple[tuple[str, int, int], ...]
    intent: str


def travel_grammar(gazetteer: Gazetteer, unseen: bool) -> Grammar:
    """The phrasings with their slots filled from the seen (or only the held-out) places."""

    def place(rng: random.Random) -> tuple[str, str]:
        return "", gazetteer.pick(rng, unseen)

    def time(rng: random.Random) -> tuple[str, str]:
        phrase = time_phrase(rng)
        return phrase.lead, phrase.text

    def time_noun(rng: random.Random) -> tuple[str, str]:
        # A time that modifies a noun: "the 8 am flight", "morning flights", "the Friday train".
        kind = rng.choice(("period_of_day", "clock", "weekday", "frequency"))
        if kind == "frequency":
            return "", rng.choice(("daily", "weekday", "weekend", "nightly", "overnight", "same-day"))
        text = time_phrase_of_kind(rng, kind).text
        return "", text if len(text.split()) <= 2 else "morning"

    def airline(rng: random.Random) -> tuple[str, str]:
        return "", rng.choice(AIRLINES)

    def flight_number(rng: random.Random) -> tuple[str, str]:
        return "", str(rng.randint(1, 2999))

    def time_bare(rng: random.Random) -> tuple[str, str]:
        # After a word that already introduces the time: "move my flight to {time_bare}"; an article
        # the phrase needs stays before it ("to the 3rd of March").
        phrase = time_phrase(rng)
        return ("the" if phrase.lead.split()[-1:] == ["the"] else ""), phrase.text

    rules = {**RULES, **{f"intent_{name}": templates for name, templates in INTENT_TEMPLATES.items()}}
    slots = {
        "departure": place,
        "dest": place,
        "place": place,
        "time": time,
        "time_bare": time_bare,
        "time_noun": time_noun,
        "airline": airline,
        "flight_number": flight_number,
    }
    return Grammar(rules, slots)


def render(pieces: list[Piece], intent: str) -> Utterance:
    """Join pieces into text, keeping each slot's character span; punctuation sticks to the word before."""
    text = ""
    slots = []
    for piece in pieces:
        if text and not (piece.text and set(piece.text) <= _PUNCTUATION):
            text += " "
        start = len(text)
        text += piece.text
        label = _LABELS.get(piece.label or "")
        if label is not None:
            slots.append((label, start, len(text)))
    return Utterance(text, tuple(slots), intent)


def to_example(utterance: Utterance) -> Example:
    """The utterance as tokens and BIO tags, through the tokenizer the service uses."""
    tokens = tokenize(utterance.text)
    starts = {token.start: i for i, token in enumerate(tokens)}
    ends = {token.end: i for i, token in enumerate(tokens)}
    spans = []
    for label, start, end in utterance.slots:
        if start not in starts or end not in ends:
            raise ValueError(f"slot {label} [{start}:{end}] of {utterance.text!r} is not on token boundaries")
        spans.append(Span(label, starts[start], ends[end] + 1))
    return Example(
        tokens=tuple(token.text for token in tokens),
        tags=tuple(spans_to_tags(spans, len(tokens))),
        intent=utterance.intent,
        text=utterance.text,
        offsets=tuple((token.start, token.end) for token in tokens),
    )


def generate(count: int, rng: random.Random, unseen: bool = False) -> list[Utterance]:
    """``count`` utterances drawn with ``rng``; ``unseen`` fills slots with held-out places only."""
    grammar = travel_grammar(load_gazetteer(), unseen)
    intents = list(INTENT_WEIGHTS)
    weights = [INTENT_WEIGHTS[name] for name in intents]
    out = []
    for _ in range(count):
        intent = rng.choices(intents, weights=weights)[0]
        if intent == "find_trip" and rng.random() < CHAT_TURN_SHARE:
            pieces = chat_turn(grammar, rng)
        else:
            pieces = grammar.expand(f"<intent_{intent}>", rng)
        out.append(render(perturb(pieces, rng), intent))
    return out


def generate_splits(
    sizes: Mapping[str, int] = DEFAULT_SIZES, seed: int = DEFAULT_SEED
) -> dict[str, list[Example]]:
    """Every split, as examples. Test sentences that also occur in train are redrawn, so test measures
    generalisation rather than recall."""
    seen_texts: set[str] = set()
    splits: dict[str, list[Example]] = {}
    for split, count in sizes.items():
        utterances = generate(count, random.Random(f"{seed}:{split}"), unseen=split == "unseen")
        if split != "train":
            # Each repeat of a train sentence is replaced in place from a stream of its own, so the size
            # of train changes only the sentences it collides with, never the rest of the split.
            spare = random.Random(f"{seed}:{split}:spare")
            for index, drawn in enumerate(utterances):
                utterance = drawn
                while utterance.text.casefold() in seen_texts:
                    utterance = generate(1, spare, unseen=split == "unseen")[0]
                utterances[index] = utterance
        else:
            seen_texts = {u.text.casefold() for u in utterances}
        splits[split] = [to_example(u) for u in utterances]
    return splits


def write_corpus(
    out: Path, sizes: Mapping[str, int] = DEFAULT_SIZES, seed: int = DEFAULT_SEED
) -> dict[str, int]:
    """Generate and write ``OUT/<split>.jsonl`` for every split; returns the number of utterances of each."""
    splits = generate_splits(sizes, seed)
    out.mkdir(parents=True, exist_ok=True)
    for split, examples in splits.items():
        write_split(examples, out, split, "jsonl")
        logger.info("wrote %d utterances to %s", len(examples), out / f"{split}.jsonl")
    return {split: len(examples) for split, examples in splits.items()}
