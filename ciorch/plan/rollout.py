"""Fleet-wide master upgrades, planned without I/O.

``plan_rollout`` orders the teams into waves: the canary alone first, then waves of
``wave_size``. ``after_wave`` decides, from what the engine observed once a wave was
applied, which teams go back to their previous image and whether the rollout goes
on. The engine applies; this module only decides."""

from __future__ import annotations

__all__ = [
    "MasterView",
    "RolloutPlan",
    "Skip",
    "Upgrade",
    "WaveOutcome",
    "WaveVerdict",
    "after_wave",
    "plan_rollout",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ciorch.errors import PermanentError


@dataclass(frozen=True, slots=True)
class MasterView:
    """A team's master as observed: its current image."""

    team: str
    image: str


@dataclass(frozen=True, slots=True)
class Upgrade:
    team: str
    from_image: str
    to_image: str


@dataclass(frozen=True, slots=True)
class Skip:
    team: str
    reason: str


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    image: str
    waves: tuple[tuple[Upgrade, ...], ...]
    skipped: tuple[Skip, ...]

    @property
    def canary(self) -> str | None:
        return self.waves[0][0].team if self.waves else None

    def describe(self) -> list[str]:
        lines = [f"roll {self.image} to {sum(len(w) for w in self.waves)} master(s)"]
        for index, wave in enumerate(self.waves):
            name = "canary" if index == 0 else f"wave {index}"
            for step in wave:
                lines.append(f"  {name}: {step.team} {step.from_image} -> {step.to_image}")
        lines += [f"  skip {s.team}: {s.reason}" for s in self.skipped]
        return lines


@dataclass(frozen=True, slots=True)
class WaveOutcome:
    """What the engine saw for one team of a wave: healthy with all its jobs, or why not."""

    team: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class WaveVerdict:
    rollback: tuple[Upgrade, ...]  # back to from_image
    proceed: bool
    report: tuple[str, ...]


def plan_rollout(
    masters: Sequence[MasterView],
    image: str,
    *,
    canary: str | None = None,
    wave_size: int = 1,
) -> RolloutPlan:
    if wave_size < 1:
        raise PermanentError(f"wave size must be at least 1, not {wave_size}", where="--wave-size")
    by_team = {m.team: m for m in masters}
    if canary is not None and canary not in by_team:
        known = ", ".join(sorted(by_team)) or "none"
        raise PermanentError(f"no master for team {canary!r} (teams: {known})", where="--canary")
    skipped = tuple(
        Skip(m.team, f"already on {image}")
        for m in sorted(masters, key=lambda m: m.team)
        if m.image == image
    )
    todo = sorted((m for m in masters if m.image != image), key=lambda m: m.team)
    if canary is not None and by_team[canary].image != image:
        todo.sort(key=lambda m: m.team != canary)  # stable: canary first, rest by name
    steps = [Upgrade(m.team, m.image, image) for m in todo]
    if not steps:
        return RolloutPlan(image, (), skipped)
    waves: list[tuple[Upgrade, ...]] = [(steps[0],)]
    rest = steps[1:]
    waves += [tuple(rest[i : i + wave_size]) for i in range(0, len(rest), wave_size)]
    return RolloutPlan(image, tuple(waves), skipped)


def after_wave(wave: Sequence[Upgrade], outcomes: Mapping[str, WaveOutcome]) -> WaveVerdict:
    """Failed teams of the wave are rolled back; any failure stops the rollout. A team
    with no outcome counts as failed (the engine lost track of it)."""
    failed = [
        step for step in wave if not outcomes.get(step.team, WaveOutcome(step.team, False)).ok
    ]
    report = []
    for step in wave:
        outcome = outcomes.get(step.team, WaveOutcome(step.team, False, "no outcome recorded"))
        state = "upgraded" if outcome.ok else f"failed: {outcome.detail or 'not healthy'}"
        report.append(f"{step.team}: {state}")
    report += [f"{step.team}: rolled back to {step.from_image}" for step in failed]
    return WaveVerdict(tuple(failed), not failed, tuple(report))
