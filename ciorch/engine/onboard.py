"""Onboarding: one command gives a team its own Jenkins master with its jobs.

observe (runtime, store, master) -> plan (ciorch.plan.onboard) -> apply. Applying is
convergent: run again, only what differs changes. A first onboarding that fails leaves
no half-made team behind: the master, its volume and every record are removed."""

from __future__ import annotations

__all__ = [
    "OnboardResult",
    "master_url",
    "offboard_team",
    "onboard_team",
    "result_json",
    "wait_api",
    "wait_healthy",
]

import json
import secrets
from contextlib import suppress
from dataclasses import asdict, dataclass

from ciorch.adapters.jenkins import JenkinsClient
from ciorch.adapters.jobs import render_team_jobs
from ciorch.adapters.runtime import wait_for_service
from ciorch.config.spec import TeamSpec
from ciorch.engine.context import Engine
from ciorch.errors import CiorchError, NotFoundError, PermanentError, TemporaryError
from ciorch.model import Credential, MasterState, TeamId
from ciorch.model.runtime import (
    LABEL_DIGEST,
    LABEL_KIND,
    LABEL_TEAM,
    Service,
    ServiceSpec,
    spec_digest,
)
from ciorch.plan.casc import casc_spec_for_team, render_casc
from ciorch.plan.onboard import (
    ADMIN_USER,
    JobsPlan,
    MasterAction,
    OnboardPlan,
    job_digest,
    master_service_spec,
    master_volume,
    plan_jobs,
    plan_master,
)


@dataclass(frozen=True, slots=True)
class OnboardResult:
    plan: OnboardPlan
    applied: bool
    url: str | None = None
    admin_user: str = ADMIN_USER
    new_secret: str | None = None  # shown to the operator once, when first made
    jobs: tuple[str, ...] = ()


def _image(engine: Engine, team: TeamSpec) -> str:
    image = team.master.image or engine.controller.master_image
    if not image:
        raise PermanentError(
            "no master image: set master.image in the team file or defaults.master_image "
            "in ciorch.yaml",
            where=team.source,
        )
    return image


def master_url(service: Service) -> str:
    task = next((t for t in service.tasks if t.alive), None)
    host = task.host if task is not None else "127.0.0.1"
    if service.port is None:
        raise PermanentError("the master service has no port", where=service.id)
    return f"http://{host}:{service.port}"


def _credential(engine: Engine, team: TeamSpec) -> Credential | None:
    try:
        return engine.store.get_credential(TeamId(team.name))
    except NotFoundError:
        return None


def _observe_jobs(service: Service | None, cred: Credential | None) -> set[str] | None:
    if service is None or cred is None or service.healthy == 0:
        return None
    try:
        client = JenkinsClient(master_url(service), cred.username, cred.secret)
        return set(client.jobs())
    except CiorchError:
        return None


def wait_healthy(engine: Engine, sid: str, image: str, timeout: float) -> Service:
    last: list[float] = []

    def report(service: Service | None, remaining: float) -> None:
        now = engine.clock()
        if last and now - last[0] < 10.0:  # a line every 10 s is progress, not noise
            return
        last[:] = [now]
        state = "starting" if service is None else f"{service.healthy}/1 healthy"
        engine.progress(f"  waiting for the master ({state}, {remaining:.0f} s left)")

    def done(service: Service | None) -> bool:
        # Not while a deployment runs: on Marathon the old task can still be the healthy one.
        return (
            service is not None
            and service.image == image
            and service.healthy >= 1
            and not service.deploying
        )

    service = wait_for_service(
        engine.runtime,
        sid,
        done,
        timeout=timeout,
        what="master",
        interval=1.0,
        clock=engine.clock,
        sleep=engine.sleep,
        on_progress=report,
    )
    assert service is not None
    return service


def wait_api(engine: Engine, client: JenkinsClient, timeout: float) -> str:
    deadline = engine.clock() + timeout
    while True:
        try:
            return client.version()
        except TemporaryError:
            if engine.clock() >= deadline:
                raise
            engine.sleep(0.5)


def onboard_team(
    engine: Engine, team: TeamSpec, *, dry_run: bool = False, timeout: float = 300.0
) -> OnboardResult:
    templates = engine.controller.templates_dir
    if templates is None:
        raise PermanentError("templates_dir is not set", where=engine.controller.source)
    rendered = render_team_jobs(team, templates)  # template errors before any change
    image = _image(engine, team)
    runtime, store, name = engine.runtime, engine.store, TeamId(team.name)
    sid = runtime.service_id(team.name, "master")
    service = runtime.get_service(sid)  # an unreachable runtime fails here, before writes
    cred = _credential(engine, team)
    secret = cred.secret if cred else secrets.token_urlsafe(24)
    spec = master_service_spec(team, image, secret)
    observed_digest = service.labels.get(LABEL_DIGEST) if service else None
    action = plan_master(
        image, service.image if service else None, observed_digest, spec_digest(spec)
    )
    sent = store.managed_jobs(name)
    existing = _observe_jobs(service, cred) if action is MasterAction.KEEP else None
    plan = OnboardPlan(team.name, image, action, cred is None, plan_jobs(rendered, sent, existing))
    if dry_run:
        return OnboardResult(plan, applied=False)

    # What this run makes is what a failure takes back: a team new to the store is
    # forgotten again, and a JENKINS_HOME only if this run created it (one kept by an
    # earlier offboarding is never purged here).
    new_team = service is None and cred is None
    assert spec.volume is not None
    volume_existed = runtime.has_volume(sid, spec.volume)
    spec_json = json.dumps(team.raw, sort_keys=True)
    with store.transaction():
        store.upsert_team(
            name, spec_json=spec_json, spec_digest=job_digest(spec_json), source=team.source
        )
        if cred is None:
            store.put_credential(name, username=ADMIN_USER, secret=secret)
        store.put_master(
            name,
            image=image,
            state=MasterState.DEPLOYING,
            previous_image=service.image if service and service.image != image else None,
            runtime_id=sid,
            admin_user=ADMIN_USER,
        )
    url: str | None = None
    try:
        if action is not MasterAction.KEEP:
            engine.progress(f"{team.name}: {plan.describe()[1].strip()}")
            runtime.ensure_service(spec)
        service = wait_healthy(engine, sid, image, timeout)
        url = master_url(service)
        client = JenkinsClient(url, ADMIN_USER, secret)
        wait_api(engine, client, timeout=60.0)
        engine.progress(f"{team.name}: master answers at {url}; applying configuration")
        client.apply_casc(
            render_casc(casc_spec_for_team(team, root_url=url + "/", admin_user=ADMIN_USER))
        )
        jobs = _apply_jobs(engine, client, name, rendered)
        previous = store.get_master(name).previous_image
        store.put_master(
            name,
            image=image,
            state=MasterState.HEALTHY,
            previous_image=previous,
            url=url,
            runtime_id=sid,
            admin_user=ADMIN_USER,
        )
    except BaseException:  # Ctrl-C during the wait included: take back what this run made
        _undo(engine, team.name, sid, spec, new_team, volume_existed, cred is None, url)
        raise
    final = OnboardPlan(team.name, image, action, cred is None, jobs)
    return OnboardResult(
        final,
        applied=True,
        url=url,
        new_secret=secret if cred is None else None,
        jobs=tuple(sorted(rendered)),
    )


def _undo(
    engine: Engine,
    team: str,
    sid: str,
    spec: ServiceSpec,
    new_team: bool,
    volume_existed: bool,
    new_credential: bool,
    url: str | None,
) -> None:
    """Best effort: a failing clean-up must not hide why onboarding failed."""
    name = TeamId(team)
    try:
        if new_team:
            engine.progress(f"{team}: onboarding failed; removing what it made")
            _remove_team(engine, team, purge=False)
            if not volume_existed and spec.volume is not None:
                engine.runtime.remove_volume(sid, spec.volume)
            return
        with engine.store.transaction():
            if new_credential:
                # Never shown to anyone: the next run makes (and shows) a new one.
                engine.store.delete_credential(name)
            record = engine.store.get_master(name)
            engine.store.put_master(
                name,
                image=record.image,
                state=MasterState.UNHEALTHY,
                previous_image=record.previous_image,
                url=url or record.url,
                runtime_id=sid,
                admin_user=ADMIN_USER,
            )
    except BaseException as exc:
        engine.progress(f"{team}: clean-up after the failure did not finish: {exc}")


def _apply_jobs(
    engine: Engine, client: JenkinsClient, team: TeamId, rendered: dict[str, str]
) -> JobsPlan:
    plan = plan_jobs(rendered, engine.store.managed_jobs(team), set(client.jobs()))
    for job in plan.create:
        engine.progress(f"{team}: create job {job}")
        client.create_job(job, rendered[job])
        engine.store.set_managed_job(team, job, job_digest(rendered[job]))
    for job in plan.update:
        engine.progress(f"{team}: update job {job}")
        client.update_job(job, rendered[job])
        engine.store.set_managed_job(team, job, job_digest(rendered[job]))
    for job in plan.delete:
        engine.progress(f"{team}: delete job {job}")
        client.delete_job(job)
        engine.store.set_managed_job(team, job, None)
    for job in plan.forget:
        engine.store.set_managed_job(team, job, None)
    return plan


def _remove_team(engine: Engine, team: str, *, purge: bool) -> None:
    runtime = engine.runtime
    for agent in runtime.list_instances({LABEL_TEAM: team, LABEL_KIND: "agent"}):
        runtime.stop_oneoff(agent.id)
    for service in runtime.list_services({LABEL_TEAM: team}):
        runtime.delete_service(service.id, purge_volume=purge)
    if purge:
        runtime.remove_volume(runtime.service_id(team, "master"), master_volume(team))
    with suppress(NotFoundError):
        engine.store.delete_team(TeamId(team))


def offboard_team(
    engine: Engine, team: str, *, purge: bool = False, dry_run: bool = False
) -> list[str]:
    """Remove the team's master and agents (and its records); JENKINS_HOME stays unless
    ``purge`` (which also removes one an earlier offboarding kept). Returns what was (or,
    with dry_run, would be) removed."""
    runtime = engine.runtime
    services = runtime.list_services({LABEL_TEAM: team})
    agents = runtime.list_instances({LABEL_TEAM: team, LABEL_KIND: "agent"})
    volume = runtime.has_volume(runtime.service_id(team, "master"), master_volume(team))
    try:
        engine.store.get_team(TeamId(team))
        known = True
    except NotFoundError:
        known = False
    if not (known or services or agents or (purge and volume)):
        raise NotFoundError("no such team", where=f"team {team}")
    lines = [f"remove service {s.id} ({s.instances} instance(s))" for s in services]
    lines += [f"remove agent {i.name}" for i in agents]
    if volume:
        lines.append(f"{'delete' if purge else 'keep'} the JENKINS_HOME volume of {team}")
    if known:
        lines.append(f"forget team {team} in the state store")
    if not dry_run:
        _remove_team(engine, team, purge=purge)
    return lines


def result_json(result: OnboardResult) -> dict[str, object]:
    data = asdict(result)
    data.pop("new_secret", None)
    return data
