"""Fleet-wide master upgrades: ciorch.plan.rollout decides the waves, this applies them.

Each team of a wave gets the new image (same JENKINS_HOME); the wave's masters must come
back healthy, answer the API and still have every job ciorch made, within the deadline.
A team that does not is put back on its previous image and the rollout stops there with
a report; teams of later waves are not touched."""

from __future__ import annotations

__all__ = ["MasterStatus", "UpgradeReport", "master_status", "upgrade_masters"]

from dataclasses import dataclass

from ciorch.adapters.jenkins import JenkinsClient
from ciorch.config.spec import Fleet
from ciorch.engine.context import Engine
from ciorch.engine.onboard import master_url, wait_api, wait_healthy
from ciorch.errors import CiorchError, NotFoundError, PermanentError
from ciorch.model import MasterRecord, MasterState, TeamId
from ciorch.plan.onboard import ADMIN_USER, master_service_spec
from ciorch.plan.rollout import (
    MasterView,
    RolloutPlan,
    Upgrade,
    WaveOutcome,
    after_wave,
    plan_rollout,
)


@dataclass(frozen=True, slots=True)
class UpgradeReport:
    plan: RolloutPlan
    applied: bool
    completed: bool
    lines: tuple[str, ...]


def _check(engine: Engine, team: str, image: str, deadline: float) -> WaveOutcome:
    """Healthy, answering, with every job ciorch made, before ``deadline`` (engine clock):
    one deadline for a whole wave, so a wave of N takes one timeout, not N."""
    timeout = max(deadline - engine.clock(), 1.0)
    try:
        service = wait_healthy(engine, engine.runtime.service_id(team, "master"), image, timeout)
        secret = engine.store.get_credential(TeamId(team)).secret
        client = JenkinsClient(master_url(service), ADMIN_USER, secret)
        wait_api(engine, client, timeout=min(timeout, 60.0))
        missing = sorted(set(engine.store.managed_jobs(TeamId(team))) - set(client.jobs()))
        if missing:
            return WaveOutcome(team, False, f"jobs missing after restart: {', '.join(missing)}")
        return WaveOutcome(team, True)
    except CiorchError as exc:
        return WaveOutcome(team, False, str(exc))


def _deploy(engine: Engine, fleet: Fleet, team: str, image: str, *, force: bool = False) -> None:
    spec = fleet.team(team)
    if spec is None:
        raise PermanentError("team is not in the configuration", where=f"team {team}")
    secret = engine.store.get_credential(TeamId(team)).secret
    engine.runtime.ensure_service(master_service_spec(spec, image, secret), force=force)


def upgrade_masters(
    engine: Engine,
    fleet: Fleet,
    image: str,
    *,
    canary: str | None = None,
    wave_size: int = 1,
    dry_run: bool = False,
    timeout: float = 300.0,
) -> UpgradeReport:
    store = engine.store
    onboarded: dict[str, MasterRecord] = {m.team: m for m in store.list_masters()}
    views = [
        MasterView(t.name, _running_image(engine, t.name) or onboarded[t.name].image)
        for t in fleet.teams
        if t.name in onboarded
    ]
    plan = plan_rollout(views, image, canary=canary, wave_size=wave_size)
    if dry_run:
        return UpgradeReport(plan, applied=False, completed=False, lines=tuple(plan.describe()))
    lines: list[str] = []
    for index, wave in enumerate(plan.waves):
        name = "canary" if index == 0 else f"wave {index}"
        engine.progress(f"{name}: {', '.join(s.team for s in wave)} -> {image}")
        for step in wave:
            record = store.get_master(TeamId(step.team))
            store.put_master(
                TeamId(step.team),
                image=step.to_image,
                state=MasterState.UPGRADING,
                previous_image=step.from_image,
                url=record.url,
                runtime_id=record.runtime_id,
                admin_user=record.admin_user,
            )
        failed: dict[str, WaveOutcome] = {}
        for step in wave:
            try:
                _deploy(engine, fleet, step.team, step.to_image)
            except CiorchError as exc:  # a missing image, a refused definition
                failed[step.team] = WaveOutcome(step.team, False, str(exc))
        deadline = engine.clock() + timeout
        outcomes = {
            s.team: failed.get(s.team) or _check(engine, s.team, s.to_image, deadline) for s in wave
        }
        verdict = after_wave(wave, outcomes)
        for step in wave:
            if outcomes[step.team].ok:
                _record(engine, step, MasterState.HEALTHY, step.to_image)
        for step in verdict.rollback:
            engine.progress(f"{step.team}: rolling back to {step.from_image}")
            # force: the failed deployment may never finish (a master that never gets
            # healthy); the rollback replaces it rather than waiting behind it.
            try:
                _deploy(engine, fleet, step.team, step.from_image, force=True)
                back = _check(engine, step.team, step.from_image, engine.clock() + timeout)
            except CiorchError as exc:
                back = WaveOutcome(step.team, False, str(exc))
            state = MasterState.ROLLED_BACK if back.ok else MasterState.UNHEALTHY
            _record(engine, step, state, step.from_image)
            if not back.ok:
                lines.append(f"{step.team}: rollback did not come back healthy: {back.detail}")
        lines += [f"{name}: {line}" for line in verdict.report]
        if not verdict.proceed:
            untouched = [s.team for w in plan.waves[index + 1 :] for s in w]
            if untouched:
                lines.append(f"stopped: not upgraded: {', '.join(untouched)}")
            return UpgradeReport(plan, applied=True, completed=False, lines=tuple(lines))
    lines += [f"skipped {s.team}: {s.reason}" for s in plan.skipped]
    return UpgradeReport(plan, applied=True, completed=True, lines=tuple(lines))


def _running_image(engine: Engine, team: str) -> str | None:
    """What the runtime runs: a rollout that stopped half-way is judged by that, not by
    what was recorded before it stopped."""
    service = engine.runtime.get_service(engine.runtime.service_id(team, "master"))
    return service.image if service is not None else None


def _record(engine: Engine, step: Upgrade, state: MasterState, image: str) -> None:
    record = engine.store.get_master(TeamId(step.team))
    engine.store.put_master(
        TeamId(step.team),
        image=image,
        state=state,
        previous_image=step.from_image if image == step.to_image else step.to_image,
        url=record.url,
        runtime_id=record.runtime_id,
        admin_user=record.admin_user,
    )


@dataclass(frozen=True, slots=True)
class MasterStatus:
    team: str
    image: str
    state: str  # as recorded
    url: str | None
    running: int
    healthy: int


def master_status(engine: Engine) -> list[MasterStatus]:
    out = []
    for record in engine.store.list_masters():
        try:
            service = engine.runtime.get_service(engine.runtime.service_id(record.team, "master"))
        except NotFoundError:
            service = None
        out.append(
            MasterStatus(
                team=record.team,
                image=record.image,
                state=record.state.value,
                url=record.url,
                running=service.running if service else 0,
                healthy=service.healthy if service else 0,
            )
        )
    return out
