"""Rollout planning: table-driven, no I/O."""

from __future__ import annotations

import pytest

from ciorch.errors import PermanentError
from ciorch.plan.rollout import MasterView, Upgrade, WaveOutcome, after_wave, plan_rollout

NEW = "master:2"


def fleet(*pairs: str) -> list[MasterView]:
    return [MasterView(p.split("=")[0], p.split("=")[1]) for p in pairs]


@pytest.mark.parametrize(
    ("masters", "canary", "wave_size", "waves", "skipped"),
    [
        (fleet("a=m:1", "b=m:1", "c=m:1"), None, 1, [["a"], ["b"], ["c"]], []),
        (fleet("a=m:1", "b=m:1", "c=m:1"), "c", 2, [["c"], ["a", "b"]], []),
        (fleet("a=m:1", "b=m:1", "c=m:1", "d=m:1"), "b", 2, [["b"], ["a", "c"], ["d"]], []),
        (fleet("a=master:2", "b=m:1"), None, 1, [["b"]], ["a"]),
        (fleet("a=master:2", "b=m:1"), "a", 1, [["b"]], ["a"]),
        (fleet("a=master:2"), None, 3, [], ["a"]),
        ([], None, 1, [], []),
    ],
)
def test_waves(
    masters: list[MasterView],
    canary: str | None,
    wave_size: int,
    waves: list[list[str]],
    skipped: list[str],
) -> None:
    plan = plan_rollout(masters, NEW, canary=canary, wave_size=wave_size)
    assert [[s.team for s in w] for w in plan.waves] == waves
    assert [s.team for s in plan.skipped] == skipped
    assert all(s.to_image == NEW for w in plan.waves for s in w)


def test_steps_remember_the_previous_image() -> None:
    plan = plan_rollout(fleet("a=m:1", "b=m:0"), NEW)
    assert plan.waves == ((Upgrade("a", "m:1", NEW),), (Upgrade("b", "m:0", NEW),))
    assert plan.describe() == [
        "roll master:2 to 2 master(s)",
        "  canary: a m:1 -> master:2",
        "  wave 1: b m:0 -> master:2",
    ]


@pytest.mark.parametrize(
    ("canary", "wave_size", "message"),
    [
        ("zz", 1, "no master for team 'zz' (teams: a, b) (--canary)"),
        (None, 0, "wave size must be at least 1, not 0 (--wave-size)"),
    ],
)
def test_bad_arguments(canary: str | None, wave_size: int, message: str) -> None:
    with pytest.raises(PermanentError) as caught:
        plan_rollout(fleet("a=m:1", "b=m:1"), NEW, canary=canary, wave_size=wave_size)
    assert str(caught.value) == message


WAVE = (Upgrade("a", "m:1", NEW), Upgrade("b", "m:1", NEW))


@pytest.mark.parametrize(
    ("outcomes", "rollback", "proceed"),
    [
        ({"a": WaveOutcome("a", True), "b": WaveOutcome("b", True)}, [], True),
        ({"a": WaveOutcome("a", True), "b": WaveOutcome("b", False, "no /login")}, ["b"], False),
        ({"a": WaveOutcome("a", True)}, ["b"], False),
        ({"a": WaveOutcome("a", False), "b": WaveOutcome("b", False)}, ["a", "b"], False),
    ],
)
def test_after_wave(outcomes: dict[str, WaveOutcome], rollback: list[str], proceed: bool) -> None:
    verdict = after_wave(WAVE, outcomes)
    assert [s.team for s in verdict.rollback] == rollback
    assert verdict.proceed is proceed


def test_after_wave_report() -> None:
    verdict = after_wave(
        WAVE, {"a": WaveOutcome("a", True), "b": WaveOutcome("b", False, "jobs missing")}
    )
    assert verdict.report == ("a: upgraded", "b: failed: jobs missing", "b: rolled back to m:1")
