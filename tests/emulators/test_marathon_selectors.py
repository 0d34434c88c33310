"""The label selector grammar of GET /v2/apps?label=, as pure tables."""

from __future__ import annotations

import pytest

from ciorch.testing.marathon.selectors import LabelSelector, SelectorError, Term, parse_selector

LABELS = {"team": "a", "env": "prod", "tier": "agent", "odd key": "x,y"}


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("team", (Term("team", "exists"),)),
        ("team==a", (Term("team", "==", ("a",)),)),
        ("team!=a", (Term("team", "!=", ("a",)),)),
        ("team in (a,b)", (Term("team", "in", ("a", "b")),)),
        ("team notin (a, b)", (Term("team", "notin", ("a", "b")),)),
        (" team == a , env ", (Term("team", "==", ("a",)), Term("env", "exists"))),
        ("env in(prod),tier!=x", (Term("env", "in", ("prod",)), Term("tier", "!=", ("x",)))),
        (r"odd\ key==x\,y", (Term("odd key", "==", ("x,y",)),)),
        ("a.b-c_d==v.1", (Term("a.b-c_d", "==", ("v.1",)),)),
    ],
)
def test_parse(text: str, terms: tuple[Term, ...]) -> None:
    assert parse_selector(text) == LabelSelector(terms)


@pytest.mark.parametrize(
    "text",
    ["", ",", "team==", "==a", "team in a", "team in (a", "team in ()", "team ~ a", "a,,b", "a=b"],
)
def test_parse_errors(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_selector(text)


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("team", True),
        ("missing", False),
        ("team==a", True),
        ("team==b", False),
        ("team!=b", True),
        ("team!=a", False),
        ("missing!=a", False),  # every term needs the label (Marathon's LabelSelector)
        ("env in (dev,prod)", True),
        ("env in (dev)", False),
        ("env notin (dev)", True),
        ("env notin (prod,dev)", False),
        ("missing notin (a)", False),
        ("team==a,env==prod", True),
        ("team==a,env==dev", False),
        (r"odd\ key==x\,y", True),
    ],
)
def test_matches(text: str, matches: bool) -> None:
    assert parse_selector(text).matches(LABELS) is matches
