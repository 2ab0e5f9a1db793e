"""Whole chat turns: the few sentences a person sends in one message, joined as people join them.

A request to a travel assistant rarely comes as one clean sentence: "Yes. I want to leave on March
9th. I am traveling from Philly to Washington, 2 seats please." The sentences here each say one
thing (where from, where to, when, and the details that are not slots: seats, bags, class,
airline), and :func:`chat_turn` joins two or three of them, or a whole request and a detail, with
the punctuation people put between them, sometimes after a reply to the assistant's last question.
The model learns that a slot ends where its sentence does and that a number of seats is not a time.
"""

from __future__ import annotations

import random

from slotfill.training.travel.grammar import Grammar, Piece

SENTENCES = ("say_from", "say_to", "say_when", "say_extra")
# What people put between two sentences of one message, as pieces ("." sticks to the word before).
_SEPARATORS: tuple[tuple[tuple[str, ...], float], ...] = (
    ((".",), 6.0),
    ((",",), 3.0),
    (("and",), 1.5),
    ((",", "and"), 1.0),
    (("-",), 0.5),
    (("!",), 0.3),
    ((), 0.4),  # no separator at all: "I'm going to Phoenix I'm leaving March 8th"
)
REPLY_SHARE = 0.3
REQUEST_SHARE = 0.35


def chat_turn(grammar: Grammar, rng: random.Random) -> list[Piece]:
    """One message of a person planning a trip, as labelled pieces.

    >>> from slotfill.training.travel.corpus import travel_grammar
    >>> from slotfill.training.travel.places import load_gazetteer
    >>> pieces = chat_turn(travel_grammar(load_gazetteer(), unseen=False), random.Random(4))
    >>> any(piece.label for piece in pieces)
    True
    """
    if rng.random() < REQUEST_SHARE:
        parts = [grammar.expand("<intent_find_trip>", rng), grammar.expand(f"<{rng.choice(SENTENCES)}>", rng)]
        if rng.random() < 0.5:
            parts.reverse()
    else:
        kinds = rng.sample(SENTENCES, k=rng.choice((2, 2, 3)))
        parts = [grammar.expand(f"<{kind}>", rng) for kind in kinds]
    if rng.random() < REPLY_SHARE:
        parts.insert(0, grammar.expand("<reply>", rng))
    pieces: list[Piece] = []
    for index, part in enumerate(parts):
        if index:
            separator = rng.choices([s for s, _ in _SEPARATORS], weights=[w for _, w in _SEPARATORS])[0]
            pieces.extend(Piece(word) for word in separator)
        pieces.extend(part)
    return pieces
