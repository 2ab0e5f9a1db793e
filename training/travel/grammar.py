"""A small template language: many phrasings written once, each expansion annotated as it is built.

A template is text with

- ``(a|b|c)``: one of the alternatives, equally likely;
- ``[x]``: ``x`` or nothing, each half the time;
- ``<name>``: a named rule of the :class:`Grammar`, itself a list of templates (one is picked);
- ``{slot}``: a slot filled by a callback, which returns the words before the slot (not part of
  it, e.g. the "on" of "on Friday") and the slot's text.

Expanding gives :class:`Piece` s, words labelled with their slot or ``None``, so the character spans
of the final sentence are known exactly rather than searched for afterwards (a search would mislabel
"to Paris" when Paris also appears as the departure).

>>> import random
>>> grammar = Grammar({"go": ["(fly|go)"]}, {"dest": lambda rng: ("", "Taipei")})
>>> [piece.text for piece in grammar.expand("<go> to {dest}[ please]", random.Random(1))]
['fly', 'to', 'Taipei', 'please']
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

SlotFiller = Callable[[random.Random], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Piece:
    """Words of the sentence: a slot's whole text (``label`` set) or plain words (``None``)."""

    text: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


@dataclass(frozen=True, slots=True)
class _Ref:
    name: str


@dataclass(frozen=True, slots=True)
class _Slot:
    name: str


@dataclass(frozen=True, slots=True)
class _Choice:
    options: tuple[_Seq, ...]


@dataclass(frozen=True, slots=True)
class _Optional:
    body: _Seq


@dataclass(frozen=True, slots=True)
class _Seq:
    items: tuple[_Node, ...]


_Node = _Text | _Ref | _Slot | _Choice | _Optional | _Seq
_CLOSERS = {"(": ")", "[": "]", "<": ">", "{": "}"}


class TemplateError(ValueError):
    """A template that does not parse; names the template and the position."""


class _Parser:
    def __init__(self, template: str) -> None:
        self.template = template
        self.at = 0

    def fail(self, reason: str) -> TemplateError:
        return TemplateError(f"template {self.template!r}, column {self.at + 1}: {reason}")

    def parse(self) -> _Seq:
        seq = self.sequence()
        if self.at != len(self.template):
            raise self.fail(f"unexpected {self.template[self.at]!r}")
        return seq

    def sequence(self) -> _Seq:
        """Items up to an unmatched ``|``, ``)`` or ``]`` (or the end)."""
        items: list[_Node] = []
        text: list[str] = []
        while self.at < len(self.template) and self.template[self.at] not in "|)]":
            char = self.template[self.at]
            if char not in _CLOSERS:
                text.append(char)
                self.at += 1
                continue
            if text:
                items.append(_Text("".join(text)))
                text = []
            items.append(self.group(char))
        if text:
            items.append(_Text("".join(text)))
        return _Seq(tuple(items))

    def group(self, opener: str) -> _Node:
        self.at += 1
        if opener in "<{":
            end = self.template.find(_CLOSERS[opener], self.at)
            if end < 0:
                raise self.fail(f"{opener!r} is never closed")
            name, self.at = self.template[self.at : end], end + 1
            if not name.isidentifier():
                raise self.fail(f"bad name {name!r}")
            return _Ref(name) if opener == "<" else _Slot(name)
        options = [self.sequence()]
        while opener == "(" and self.at < len(self.template) and self.template[self.at] == "|":
            self.at += 1
            options.append(self.sequence())
        if opener == "[" and self.at < len(self.template) and self.template[self.at] == "|":
            raise self.fail("'|' inside '[...]': write alternatives as '[(a|b)]'")
        if self.at >= len(self.template) or self.template[self.at] != _CLOSERS[opener]:
            raise self.fail(f"{opener!r} is never closed")
        self.at += 1
        return _Choice(tuple(options)) if opener == "(" else _Optional(options[0])


@cache
def parse_template(template: str) -> _Seq:
    """The parsed form of ``template`` (cached: the corpus expands the same templates thousands of times)."""
    return _Parser(template).parse()


class Grammar:
    """Named rules plus slot fillers; :meth:`expand` turns a template into labelled pieces."""

    def __init__(self, rules: Mapping[str, Sequence[str]], slots: Mapping[str, SlotFiller]) -> None:
        self.rules = {name: tuple(templates) for name, templates in rules.items()}
        self.slots = dict(slots)
        self._checked: set[str] = set()
        self.check()

    def check(self) -> None:
        """Parse every rule and check every name it uses, so a typo fails at once, not in one draw of 1000."""
        for name, templates in self.rules.items():
            if not templates:
                raise TemplateError(f"rule <{name}> has no templates")
            for template in templates:
                self.check_template(template)

    def check_template(self, template: str) -> None:
        stack: list[_Node] = [parse_template(template)]
        while stack:
            node = stack.pop()
            if isinstance(node, _Ref) and node.name not in self.rules:
                raise TemplateError(f"template {template!r} uses unknown rule <{node.name}>")
            if isinstance(node, _Slot) and node.name not in self.slots:
                raise TemplateError(f"template {template!r} uses unknown slot {{{node.name}}}")
            if isinstance(node, _Seq):
                stack.extend(node.items)
            elif isinstance(node, _Choice):
                stack.extend(node.options)
            elif isinstance(node, _Optional):
                stack.append(node.body)

    def expand(self, template: str, rng: random.Random) -> list[Piece]:
        """One random expansion of ``template``, whitespace normalised to single spaces."""
        if template not in self._checked:
            self.check_template(template)
            self._checked.add(template)
        pieces: list[Piece] = []
        self._expand(parse_template(template), rng, pieces)
        return _normalise(pieces)

    def _expand(self, node: _Node, rng: random.Random, out: list[Piece]) -> None:
        if isinstance(node, _Text):
            out.append(Piece(node.text))
        elif isinstance(node, _Seq):
            for item in node.items:
                self._expand(item, rng, out)
        elif isinstance(node, _Choice):
            self._expand(rng.choice(node.options), rng, out)
        elif isinstance(node, _Optional):
            if rng.random() < 0.5:
                self._expand(node.body, rng, out)
        elif isinstance(node, _Ref):
            self._expand(parse_template(rng.choice(self.rules[node.name])), rng, out)
        else:
            lead, text = self.slots[node.name](rng)
            out.extend((Piece(f" {lead} "), Piece(text, node.name), Piece(" ")))


def _normalise(pieces: Sequence[Piece]) -> list[Piece]:
    """Merge plain text, split it into words, drop empty pieces: ``"  to "`` -> ``Piece("to")``."""
    merged: list[Piece] = []
    plain: list[str] = []
    for piece in pieces:
        if piece.label is None:
            plain.append(piece.text)
            continue
        merged.extend(Piece(word) for word in "".join(plain).split())
        plain = []
        merged.append(piece)
    merged.extend(Piece(word) for word in "".join(plain).split())
    return merged
