"""Collapse fine slot labels into coarser ones, e.g. ATIS ``toloc.city_name`` -> ``dest``.

A product rarely needs ATIS's 83 slot types; mapping them onto the few it does need is data
preparation, so it happens here, once, on the examples, and the model never sees the fine labels.
Rules are :func:`fnmatch.fnmatchcase` patterns over slot *types* (``toloc.*``, not ``B-toloc.*``);
the first rule that matches, in file order, gives the new type, and ``"O"`` or ``null`` drops the
slot. Types no rule matches are kept as they are (end with ``"*": "O"`` to drop them instead).

The map works on spans, not tags, so its output is always well-formed BIO; with
``merge_adjacent``, touching spans of a listed target type become one, so ATIS "june fourteenth"
(``month_name`` + ``day_number``) becomes a single ``time`` span rather than two.

File format (JSON), either a flat object of rules or an object with ``rules`` and
``merge_adjacent``::

    {"rules": {"fromloc.*": "departure", "toloc.*": "dest", "*date*": "time", "*": "O"},
     "merge_adjacent": ["time"]}
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from slotfill.model.spans import OUTSIDE, Span, spans_to_tags, tags_to_spans
from slotfill.training.data import DataError, Example

logger = logging.getLogger(__name__)

_FILE_FIELDS = frozenset({"rules", "merge_adjacent"})


class LabelMap:
    """Ordered ``pattern -> new slot type (or None to drop)`` rules, applied span by span.

    >>> atis = LabelMap({"toloc.*": "dest", "*date*": "time", "*": "O"}, merge_adjacent=["time"])
    >>> tags = ("O", "B-toloc.city_name", "B-arrive_date.month_name", "B-arrive_date.day_number")
    >>> atis.apply(Example(("to", "boston", "june", "fourth"), tags)).tags
    ('O', 'B-dest', 'B-time', 'I-time')
    """

    def __init__(
        self,
        rules: Mapping[str, str | None] | Iterable[tuple[str, str | None]],
        merge_adjacent: Iterable[str] = (),
    ) -> None:
        pairs = list(rules.items()) if isinstance(rules, Mapping) else list(rules)
        self.rules: tuple[tuple[str, str | None], ...] = tuple(
            (pattern, _target(pattern, target)) for pattern, target in pairs
        )
        self.merge_adjacent: frozenset[str] = frozenset(merge_adjacent)
        for pattern, _ in self.rules:
            if not isinstance(pattern, str) or not pattern:
                raise ValueError(f"rule pattern must be a non-empty string, got {pattern!r}")
        for label in self.merge_adjacent:
            if not isinstance(label, str) or not _is_slot_type(label):
                raise ValueError(f"merge_adjacent entries must be slot types, got {label!r}")
        self._cache: dict[str, str | None] = {}

    def __repr__(self) -> str:
        return f"LabelMap({dict(self.rules)!r}, merge_adjacent={sorted(self.merge_adjacent)!r})"

    @classmethod
    def from_file(cls, path: Path) -> LabelMap:
        """Load a JSON label map; any problem is a ``DataError`` naming ``path``."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(path, None, f"cannot read label map: {exc}") from None
        try:
            data = json.loads(text, object_pairs_hook=_pairs)
        except json.JSONDecodeError as exc:
            raise DataError(path, exc.lineno, f"invalid JSON: {exc.msg} at column {exc.colno}") from None
        except ValueError as exc:  # a duplicate key, from _pairs
            raise DataError(path, None, str(exc)) from None
        try:
            return cls._from_json(data)
        except ValueError as exc:
            raise DataError(path, None, str(exc)) from None

    @classmethod
    def _from_json(cls, data: object) -> LabelMap:
        if not isinstance(data, _JsonObject):
            raise ValueError(f"expected a JSON object of rules, got {_json_type(data)}")
        fields = dict(data)
        merge: object = []
        rules = fields.get("rules")
        if isinstance(rules, _JsonObject):  # {"rules": {...}, "merge_adjacent": [...]}
            unknown = sorted(fields.keys() - _FILE_FIELDS)
            if unknown:
                raise ValueError(
                    f"unknown field(s) {unknown}: expected 'rules' and optionally 'merge_adjacent'"
                )
            merge = fields.get("merge_adjacent", [])
        elif "merge_adjacent" in fields:
            raise ValueError("'merge_adjacent' needs the rules under 'rules': {\"rules\": {...}, ...}")
        else:
            rules = data
        if not isinstance(merge, list) or any(not isinstance(item, str) for item in merge):
            raise ValueError(f"'merge_adjacent' must be an array of slot types, got {merge!r}")
        checked: list[tuple[str, str | None]] = []
        for pattern, target in rules:
            if target is not None and not isinstance(target, str):
                raise ValueError(
                    f"rule {pattern!r}: target must be a slot type, 'O' or null, got {_json_type(target)}"
                )
            checked.append((pattern, target))
        return cls(checked, merge)

    def map_type(self, label: str) -> str | None:
        """The new type of slot type ``label``, or ``None`` when it is dropped.

        >>> LabelMap({"toloc.*": "dest", "*": "O"}).map_type("toloc.city_name")
        'dest'
        """
        if label not in self._cache:
            target: str | None = label
            for pattern, new in self.rules:
                if fnmatchcase(label, pattern):
                    target = new
                    break
            self._cache[label] = target
        return self._cache[label]

    def apply(self, example: Example) -> Example:
        """``example`` with its slots renamed, dropped and merged; everything else unchanged."""
        spans: list[Span] = []
        for span in tags_to_spans(example.tags):
            label = self.map_type(span.label)
            if label is None:
                continue
            previous = spans[-1] if spans else None
            if (
                previous is not None
                and label in self.merge_adjacent
                and previous.label == label
                and previous.end == span.start
            ):
                spans[-1] = Span(label, previous.start, span.end)
            else:
                spans.append(Span(label, span.start, span.end))
        tags = tuple(spans_to_tags(spans, len(example.tags)))
        return dataclasses.replace(example, tags=tags)

    def apply_all(self, examples: Sequence[Example]) -> list[Example]:
        """:meth:`apply` to each example; logs how many slot types went in and came out."""
        mapped = [self.apply(example) for example in examples]
        before = {span.label for example in examples for span in tags_to_spans(example.tags)}
        after = {span.label for example in mapped for span in tags_to_spans(example.tags)}
        logger.info("label map: %d slot types -> %d", len(before), len(after))
        return mapped


def _is_slot_type(label: str) -> bool:
    return bool(label) and label != OUTSIDE and label.split() == [label]


def _target(pattern: str, target: str | None) -> str | None:
    """Normalise a rule's target: ``"O"`` and ``None`` both mean drop."""
    if target is None or target == OUTSIDE:
        return None
    if not isinstance(target, str) or not _is_slot_type(target):
        raise ValueError(f"rule {pattern!r}: target must be a slot type, 'O' or null, got {target!r}")
    return target


class _JsonObject(list[tuple[str, object]]):
    """A decoded JSON object kept as ordered pairs: rule order matters, and so do duplicates."""


def _pairs(pairs: list[tuple[str, object]]) -> _JsonObject:
    """``object_pairs_hook`` that refuses duplicate keys, which ``json`` would silently collapse."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r} (the later rule would silently replace the earlier)")
        seen.add(key)
    return _JsonObject(pairs)


def _json_type(value: object) -> str:
    if isinstance(value, _JsonObject):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "string" if isinstance(value, str) else "number"
