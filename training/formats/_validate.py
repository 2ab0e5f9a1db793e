"""Checks writers run before touching the disk, so a file they write always reads back.

Examples are built in code (readers, label maps, predictions), so a bad one is a programming error
and raises :class:`ValueError` naming the example; catching it here beats writing a file that the
reader later rejects with a confusing line number.
"""

from __future__ import annotations

from collections.abc import Sequence

from slotfill.model.spans import split_tag
from slotfill.training.data import Example


def check_token(token: str) -> bool:
    """True when ``token`` survives ``" ".join`` followed by :meth:`str.split` unchanged.

    >>> check_token("6:30"), check_token("new york"), check_token("")
    (True, False, False)
    """
    return token.split() == [token]


def check_intent(intent: str) -> bool:
    """True when ``intent`` fits on one line and survives the readers' stripping of blanks.

    >>> check_intent("atis_flight"), check_intent(" x"), check_intent("a\\nb"), check_intent("")
    (True, False, False, False)
    """
    return bool(intent) and intent == intent.strip() and "\n" not in intent and "\r" not in intent


def check_writable(examples: Sequence[Example], *, plain_tokens: bool = True) -> None:
    """Raise ``ValueError`` naming the first example (1-based) that its format cannot hold.

    Also requires intents on all examples or on none: the readers reject a mix, because a missing
    intent in otherwise labelled data is almost always an accident.
    """
    if not examples:
        raise ValueError("no examples to write (the readers reject a file without utterances)")
    first_has_intent = examples[0].intent is not None
    for number, example in enumerate(examples, start=1):
        if not example.tokens:
            raise ValueError(f"example {number} has no tokens")
        if plain_tokens:
            for token in example.tokens:
                if not check_token(token):
                    raise ValueError(f"example {number}: token {token!r} is empty or contains whitespace")
        for tag in example.tags:
            try:
                split_tag(tag)
            except ValueError as exc:
                raise ValueError(f"example {number}: {exc}") from None
        if (example.intent is not None) != first_has_intent:
            raise ValueError(
                f"example {number} {'has' if example.intent is not None else 'has no'} intent but "
                f"example 1 {'has' if first_has_intent else 'has no'} intent: give all examples an "
                "intent or none"
            )
        if example.intent is not None and not check_intent(example.intent):
            raise ValueError(
                f"example {number}: intent {example.intent!r} must be non-empty, one line, "
                "without leading or trailing blanks"
            )
