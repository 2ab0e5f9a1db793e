"""How many tokens a text has at most, counted cheaply enough to run on the event loop.

Admission counts every request's tokens, refused ones included, on the loop that serves all
clients, so the count must cost far less than tagging. The tokenizer itself (Python, a ``Token``
per token) took milliseconds on a batch of long texts there; a regular expression that finds
every token still built a string per token, and eight clients resending 64 texts of 1,000 "!"
spent 84% of the loop in it (legitimate requests waited seconds). ASCII text, nearly every
request, is now counted by three C passes over its bytes; other text by the regular expression.
"""

from __future__ import annotations

import re

# Every run of letters and digits, and every other character that is not a space.
_TOKEN_BOUND = re.compile(r"[^\W_]+|\S")


def _ascii_classes() -> bytes:
    """A ``bytes.translate`` table: letters and digits -> "a", spaces -> " ", the rest -> "!"."""
    table = bytearray(b"!" * 256)
    for byte in range(128):
        char = chr(byte)
        if _TOKEN_BOUND.fullmatch(char) is None:  # not a token on its own: a space
            table[byte] = ord(" ")
        elif char.isalnum():
            table[byte] = ord("a")
    return bytes(table)


_CLASSES = _ascii_classes()


def count_tokens(text: str) -> int:
    """At least as many tokens as ``tokenize`` makes: each run of letters and digits and each
    other character that is not a space. Inner punctuation counts on its own ("6:30" is 3, not 1), so
    the count errs towards cost, never below it.

    >>> from slotfill.model.tokenize import tokenize
    >>> count_tokens("arrive Taipei at 6:30, please!"), len(tokenize("arrive Taipei at 6:30, please!"))
    (9, 7)
    >>> count_tokens("!" * 1000), count_tokens("Zürich, 2 seats")
    (1000, 4)
    """
    if not text.isascii():
        return len(_TOKEN_BOUND.findall(text))
    classes = text.encode("ascii").translate(_CLASSES)
    return classes.count(b"!") + len(classes.replace(b"!", b" ").split())
