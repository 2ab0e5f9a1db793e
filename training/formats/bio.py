"""The BIO policy readers apply to tag sequences from files.

Decoding and scoring follow ``conlleval`` and accept any tag sequence (see :mod:`model.spans`), but
training data is a different matter: a stray ``I-X`` in a file is usually an annotation slip, and
silently reading it as a new span hides it. So readers check every sequence under a policy:

* ``"strict"`` (the default): a stray ``I-X`` is an error, reported with its file and line.
* ``"repair"``: a stray ``I-X`` becomes ``B-X`` (exactly the span ``conlleval`` would see), and the
  reader logs one warning per file with the number of repairs.

Tags that are not ``O``, ``B-<slot>`` or ``I-<slot>`` are errors under either policy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from slotfill.model.spans import OUTSIDE, split_tag

logger = logging.getLogger(__name__)

BIO_POLICIES = ("strict", "repair")


class TagError(ValueError):
    """A bad tag at token ``index`` (0-based); readers turn it into a located ``DataError``."""

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"token {index + 1}: {reason}")


def check_policy(policy: str) -> None:
    """Fail fast on a policy name that is not one of :data:`BIO_POLICIES`."""
    if policy not in BIO_POLICIES:
        raise ValueError(f"unknown bio_policy {policy!r}: expected one of {', '.join(BIO_POLICIES)}")


def check_tags(tags: Sequence[str], policy: str = "strict") -> tuple[tuple[str, ...], int]:
    """Validate ``tags`` under ``policy``; return the (possibly repaired) tags and the repair count.

    >>> check_tags(["B-dest", "I-dest", "O"])
    (('B-dest', 'I-dest', 'O'), 0)
    >>> check_tags(["O", "I-dest", "I-dest"], "repair")
    (('O', 'B-dest', 'I-dest'), 1)
    >>> check_tags(["O", "I-dest"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    slotfill.training.formats.bio.TagError: token 2: stray 'I-dest' after 'O' ...
    """
    check_policy(policy)
    fixed: list[str] = []
    repaired = 0
    prev_prefix, prev_label = OUTSIDE, ""
    for index, tag in enumerate(tags):
        try:
            prefix, label = split_tag(tag)
        except ValueError:
            reason = f"{tag!r} is not a BIO tag (expected 'O', 'B-<slot>' or 'I-<slot>')"
            raise TagError(index, reason) from None
        if prefix == "I" and (prev_prefix == OUTSIDE or prev_label != label):
            if policy == "strict":
                previous = fixed[-1] if fixed else "the start of the utterance"
                if fixed:
                    previous = repr(previous)
                raise TagError(
                    index,
                    f"stray {tag!r} after {previous} (an I- tag must continue B-{label} or I-{label}; "
                    "fix the data or read with bio_policy='repair' to turn it into B-)",
                )
            repaired += 1
            fixed.append(f"B-{label}")
        else:
            fixed.append(tag)
        prev_prefix, prev_label = prefix, label
    return tuple(fixed), repaired


def log_repairs(path: Path, repaired: int) -> None:
    """Log the one warning per file that the ``"repair"`` policy promises (nothing when 0)."""
    if repaired:
        logger.warning("%s: turned %d stray I- tag(s) into B- (bio_policy='repair')", path, repaired)
