"""What people do to a clean sentence: lowercase it, shout it, misspell it, pad it, punctuate it.

The model must not learn that a slot is whatever is capitalised or spelt right, so a share of the
corpus gets each of these, slot words included (a typo in "Denvr" is still the destination). Edits
only ever touch letters inside a word, so every slot keeps its exact boundaries.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from slotfill.training.travel.grammar import Piece
from slotfill.training.travel.phrasings import OPENERS

TYPO_RATE = 0.02
SLOT_TYPO_RATE = 0.02
OPENER_RATE = 0.06
_QUESTION_WORDS = frozenset(
    ("what", "what's", "when", "which", "where", "who", "how", "is", "are", "do", "does", "can", "could")
)
# Neighbours on a QWERTY keyboard: the substitution typos people actually make.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {row[i]: row[max(i - 1, 0) : i] + row[i + 1 : i + 2] for row in _ROWS for i in range(len(row))}


def typo(word: str, rng: random.Random) -> str:
    """One edit a fast typist makes: swap two letters, drop one, double one, or hit a neighbour key.

    Words under four letters are left alone: "to" -> "ot" changes what the sentence says.

    >>> typo("denver", random.Random(3)) != "denver"
    True
    """
    letters = [i for i, char in enumerate(word) if char.isalpha()]
    if len(word) < 4 or len(letters) < 4:
        return word
    at = rng.choice(letters[1:-1])
    kind = rng.randrange(4)
    # A swap moves the next letter too, so it never starts next to the last one.
    if kind == 0 and at + 1 < letters[-1] and word[at + 1].isalpha():
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if kind == 1:
        return word[:at] + word[at + 1 :]
    if kind == 2:
        return word[:at] + word[at] + word[at:]
    near = _NEIGHBOURS.get(word[at].lower())
    return word[:at] + rng.choice(near) + word[at + 1 :] if near else word


def _typos(piece: Piece, rng: random.Random) -> Piece:
    rate = SLOT_TYPO_RATE if piece.label else TYPO_RATE
    words = [typo(word, rng) if rng.random() < rate else word for word in piece.text.split(" ")]
    return Piece(" ".join(words), piece.label)


def _case(pieces: list[Piece], rng: random.Random) -> list[Piece]:
    draw = rng.random()
    if draw < 0.45:
        return [Piece(p.text.lower(), p.label) for p in pieces]
    if draw < 0.5:
        return [Piece(p.text.upper(), p.label) for p in pieces]
    if draw < 0.55:
        return [Piece(_title(p.text), p.label) for p in pieces]
    if draw < 0.8 and pieces and pieces[0].text:
        first = pieces[0]
        pieces[0] = Piece(first.text[0].upper() + first.text[1:], first.label)
    return pieces


def _title(text: str) -> str:
    """Every word capitalised; unlike ``str.title``, "3rd" stays "3rd" and "o'clock" stays "O'clock"."""
    return " ".join(word[:1].upper() + word[1:] for word in text.split(" "))


def is_question(pieces: Sequence[Piece]) -> bool:
    return bool(pieces) and pieces[0].text.lower() in _QUESTION_WORDS


def _end(pieces: list[Piece], rng: random.Random) -> list[Piece]:
    if not pieces or not pieces[-1].text[-1:].isalnum():
        return pieces
    draw = rng.random()
    if is_question(pieces):
        mark = "?" if draw < 0.6 else ""
    else:
        # Chat messages end with a full stop about half the time (SGD's turns: most of them).
        mark = "." if draw < 0.45 else "!" if draw < 0.48 else ""
    return [*pieces, Piece(mark)] if mark else pieces


def perturb(pieces: Sequence[Piece], rng: random.Random) -> list[Piece]:
    """A noisy copy of ``pieces``: an opener, typos, a casing style and end punctuation, each at its rate."""
    out = [_typos(piece, rng) for piece in pieces]
    if rng.random() < OPENER_RATE:
        opener = rng.choice(OPENERS)
        out = [Piece(opener), *([Piece(",")] if rng.random() < 0.5 else []), *out]
    out = _end(out, rng)
    return _case(out, rng)
