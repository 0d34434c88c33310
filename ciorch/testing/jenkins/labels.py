"""Jenkins label expressions, as ``hudson.model.Label.parseExpression`` reads them.

Grammar (``hudson.model.labels.LabelExpression`` and its ANTLR grammar ``LabelExpression.g4``),
from the weakest operator to the strongest::

    expr  := iff
    iff   := impl ( '<->' impl )*
    impl  := or ( '->' or )*
    or    := and ( '||' and )*
    and   := not ( '&&' not )*
    not   := '!' not | '(' expr ')' | atom
    atom  := a bare word (no whitespace, no operator characters) or a "double-quoted" string

A label matches a node when the expression is true on the node's label atoms; a node's own
name always counts as one of its atoms (``Node.getAssignedLabels``). The canonical form
(``Label.getExpression``) writes ``a&&b`` without blanks, which is what ``tiedJobs`` compares.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass

__all__ = ["Atom", "Binary", "Expr", "LabelSyntaxError", "Not", "parse_label", "split_labels"]


class LabelSyntaxError(ValueError):
    """The text is not a label expression (Jenkins: ``ANTLRException``)."""


@dataclass(frozen=True)
class Atom:
    """One label atom (``hudson.model.labels.LabelAtom``)."""

    name: str

    def matches(self, labels: Set[str]) -> bool:
        return self.name in labels

    def canonical(self) -> str:
        if re.fullmatch(r"[^\s()!&|<>\-\"]+", self.name):
            return self.name
        return '"' + self.name.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def atoms(self) -> frozenset[str]:
        return frozenset({self.name})


@dataclass(frozen=True)
class Not:
    """``!a`` (``LabelExpression.Not``)."""

    operand: Expr

    def matches(self, labels: Set[str]) -> bool:
        return not self.operand.matches(labels)

    def canonical(self) -> str:
        inner = self.operand.canonical()
        return "!" + (inner if isinstance(self.operand, Atom | Not) else f"({inner})")

    def atoms(self) -> frozenset[str]:
        return self.operand.atoms()


_PRECEDENCE = {"<->": 1, "->": 2, "||": 3, "&&": 4}


@dataclass(frozen=True)
class Binary:
    """``a && b``, ``a || b``, ``a -> b``, ``a <-> b`` (``LabelExpression.And`` etc.)."""

    op: str
    left: Expr
    right: Expr

    def matches(self, labels: Set[str]) -> bool:
        a = self.left.matches(labels)
        b = self.right.matches(labels)
        if self.op == "&&":
            return a and b
        if self.op == "||":
            return a or b
        if self.op == "->":
            return (not a) or b
        return a == b

    def canonical(self) -> str:
        def side(e: Expr) -> str:
            text = e.canonical()
            if isinstance(e, Binary) and _PRECEDENCE[e.op] < _PRECEDENCE[self.op]:
                return f"({text})"
            return text

        return side(self.left) + self.op + side(self.right)

    def atoms(self) -> frozenset[str]:
        return self.left.atoms() | self.right.atoms()


Expr = Atom | Not | Binary

_TOKEN = re.compile(r'\s*(?:(<->|->|&&|\|\||[!()])|"((?:[^"\\]|\\.)*)"|([^\s()!&|<>"]+))')


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise LabelSyntaxError(f"invalid label expression {text!r} at {pos}")
        if m.group(1):
            tokens.append(("op", m.group(1)))
        elif m.group(2) is not None:
            tokens.append(("atom", re.sub(r"\\(.)", r"\1", m.group(2))))
        else:
            tokens.append(("atom", m.group(3)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise LabelSyntaxError("unexpected end of label expression")
        self.pos += 1
        return tok

    def binary(self, level: int) -> Expr:
        ops = ["<->", "->", "||", "&&"]
        if level == len(ops):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() == ("op", ops[level]):
            self.take()
            left = Binary(ops[level], left, self.binary(level + 1))
        return left

    def unary(self) -> Expr:
        kind, value = self.take()
        if kind == "atom":
            return Atom(value)
        if value == "!":
            return Not(self.unary())
        if value == "(":
            inner = self.binary(0)
            if self.take() != ("op", ")"):
                raise LabelSyntaxError("missing ')'")
            return inner
        raise LabelSyntaxError(f"unexpected {value!r}")


def parse_label(text: str) -> Expr:
    """Parse a label expression; raise :class:`LabelSyntaxError` when it is not one."""
    tokens = _tokenize(text)
    if not tokens:
        raise LabelSyntaxError("empty label expression")
    parser = _Parser(tokens)
    expr = parser.binary(0)
    if parser.peek() is not None:
        raise LabelSyntaxError(f"unexpected {parser.peek()!r} in {text!r}")
    return expr


def split_labels(label_string: str | None) -> list[str]:
    """A node's label string split into atoms (``Label.parse``: whitespace separated)."""
    return [part for part in (label_string or "").split() if part]
