"""Marathon's label selector (``GET /v2/apps?label=...``): a pure parser and matcher.

Grammar (Marathon ``LabelSelectorParsers``)::

    selectors := term ("," term)*          comma = AND
    term      := key                       the label exists
               | key "==" value            exists and equals
               | key "!=" value            exists and differs
               | key "in" "(" value ("," value)* ")"
               | key "notin" "(" value ("," value)* ")"

Keys and values are runs of characters other than white space, ``!``, ``=``, ``,``,
``(`` and ``)``; a backslash escapes the next character. White space between tokens is
ignored. As in Marathon every term, ``!=`` and ``notin`` included, requires the label
to exist (not confirmed against a live server: read from Marathon's LabelSelector, where
``matches`` checks ``labels.contains(key)`` before the operator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["LabelSelector", "SelectorError", "Term", "parse_selector"]

_SPECIAL = set("!=,()")


class SelectorError(ValueError):
    """The selector text does not follow the grammar."""


@dataclass(frozen=True)
class Term:
    """One requirement: ``op`` is one of ``exists``, ``==``, ``!=``, ``in``, ``notin``."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.key not in labels:
            return False
        value = labels[self.key]
        if self.op == "exists":
            return True
        if self.op == "==":
            return value == self.values[0]
        if self.op == "!=":
            return value != self.values[0]
        if self.op == "in":
            return value in self.values
        return value not in self.values  # notin


@dataclass(frozen=True)
class LabelSelector:
    """All terms must match (comma = AND)."""

    terms: tuple[Term, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(term.matches(labels) for term in self.terms)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self._skip()
        return self.pos >= len(self.text)

    def peek_symbol(self, symbol: str) -> bool:
        self._skip()
        return self.text.startswith(symbol, self.pos)

    def symbol(self, symbol: str) -> None:
        if not self.peek_symbol(symbol):
            raise SelectorError(f"expected {symbol!r} at {self.pos} in {self.text!r}")
        self.pos += len(symbol)

    def word(self) -> str:
        self._skip()
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char.isspace() or char in _SPECIAL:
                break
            out.append(char)
            self.pos += 1
        if not out:
            raise SelectorError(f"expected a label or value at {self.pos} in {self.text!r}")
        return "".join(out)


def _value_set(lexer: _Lexer) -> tuple[str, ...]:
    lexer.symbol("(")
    values = [lexer.word()]
    while lexer.peek_symbol(","):
        lexer.symbol(",")
        values.append(lexer.word())
    lexer.symbol(")")
    return tuple(values)


def _term(lexer: _Lexer) -> Term:
    key = lexer.word()
    if lexer.peek_symbol("=="):
        lexer.symbol("==")
        return Term(key, "==", (lexer.word(),))
    if lexer.peek_symbol("!="):
        lexer.symbol("!=")
        return Term(key, "!=", (lexer.word(),))
    if lexer.at_end() or lexer.peek_symbol(","):
        return Term(key, "exists")
    start = lexer.pos
    keyword = lexer.word()
    if keyword in ("in", "notin"):
        return Term(key, keyword, _value_set(lexer))
    raise SelectorError(f"unexpected {keyword!r} at {start} in {lexer.text!r}")


def parse_selector(text: str) -> LabelSelector:
    """Parse ``text``; raise :class:`SelectorError` when it is not a selector."""
    lexer = _Lexer(text)
    terms = [_term(lexer)]
    while not lexer.at_end():
        lexer.symbol(",")
        terms.append(_term(lexer))
    return LabelSelector(tuple(terms))
