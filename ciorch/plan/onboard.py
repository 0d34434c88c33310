"""What onboarding a team would change, decided without I/O.

Inputs are the team's spec and what was observed (the master service, the stored
credential, the jobs on the master and the digests of what ciorch last sent); the
output is an ``OnboardPlan`` the engine applies, or prints for ``--dry-run``. Running
onboarding again on an unchanged team plans nothing."""

from __future__ import annotations

__all__ = [
    "ADMIN_USER",
    "JENKINS_HOME",
    "JobsPlan",
    "MasterAction",
    "OnboardPlan",
    "job_digest",
    "master_service_spec",
    "master_volume",
    "plan_jobs",
    "plan_master",
]

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ciorch.config.spec import TeamSpec
from ciorch.model.runtime import (
    ContainerSpec,
    HealthCheck,
    Resources,
    ServiceSpec,
    VolumeSpec,
    WorkloadKind,
)

ADMIN_USER = "admin"  # the user the master image's own CasC creates (images/jenkins-master)
JENKINS_HOME = "/var/jenkins_home"
# A Jenkins master takes a while to start (plugins, CasC); the runtime does not call it
# unhealthy before this.
MASTER_GRACE_SECONDS = 300.0


class MasterAction(StrEnum):
    CREATE = "create"
    REPLACE = "replace"  # image or resources changed: new instance, same JENKINS_HOME
    KEEP = "keep"


def master_volume(team: str, size_mib: int = 10240) -> VolumeSpec:
    """The team's JENKINS_HOME. The runtime scopes the name to its installation
    (``ciorch-<team>-jenkins-home`` on Docker)."""
    return VolumeSpec(f"{team}-jenkins-home", JENKINS_HOME, size_mib)


def master_service_spec(team: TeamSpec, image: str, secret: str) -> ServiceSpec:
    """The team's master as a runtime service: one instance, JENKINS_HOME on a persistent
    volume, a free port (PORT0), health on /login. The master image reads ADMIN_USER and
    ADMIN_PASSWORD for its Configuration-as-Code security realm."""
    m = team.master
    return ServiceSpec(
        container=ContainerSpec(
            team=team.name,
            kind=WorkloadKind.MASTER,
            name="master",
            image=image,
            env={
                "ADMIN_USER": ADMIN_USER,
                "ADMIN_PASSWORD": secret,
                "CIORCH_TEAM": team.name,
                "JENKINS_HOME": JENKINS_HOME,
            },
            resources=Resources(cpus=m.cpus, mem_mib=m.mem),
        ),
        instances=1,
        volume=master_volume(team.name, m.disk),
        health=HealthCheck(path="/login", grace_seconds=MASTER_GRACE_SECONDS, timeout_seconds=5),
        port=True,
        restart=True,
    )


def plan_master(
    image: str, observed_image: str | None, observed_digest: str | None, wanted_digest: str
) -> MasterAction:
    """``*_digest``: ``spec_digest`` of the running and the wanted master service (image,
    resources, volume, environment, health check): any difference replaces the master
    on the same JENKINS_HOME."""
    if observed_image is None:
        return MasterAction.CREATE
    if observed_image != image or observed_digest != wanted_digest:
        return MasterAction.REPLACE
    return MasterAction.KEEP


def job_digest(config_xml: str) -> str:
    return hashlib.sha256(config_xml.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class JobsPlan:
    create: tuple[str, ...]
    update: tuple[str, ...]
    delete: tuple[str, ...]
    unchanged: tuple[str, ...]
    forget: tuple[str, ...] = ()  # made by ciorch, gone from the master and from the file

    @property
    def changes(self) -> int:
        return len(self.create) + len(self.update) + len(self.delete) + len(self.forget)


def plan_jobs(
    rendered: Mapping[str, str], sent: Mapping[str, str], existing: Collection[str] | None
) -> JobsPlan:
    """``rendered``: the jobs the spec wants; ``sent``: digests of what ciorch last sent;
    ``existing``: job names on the master (None: master not reachable yet, so every job
    is to be created). Jobs ciorch never made are never touched."""
    on_master = set(existing) if existing is not None else set()
    create, update, unchanged = [], [], []
    for name in sorted(rendered):
        if name not in on_master:
            create.append(name)
        elif sent.get(name) != job_digest(rendered[name]):
            update.append(name)
        else:
            unchanged.append(name)
    delete = sorted(n for n in sent if n not in rendered and n in on_master)
    forget = sorted(
        n for n in sent if n not in rendered and existing is not None and n not in on_master
    )
    return JobsPlan(tuple(create), tuple(update), tuple(delete), tuple(unchanged), tuple(forget))


@dataclass(frozen=True, slots=True)
class OnboardPlan:
    team: str
    image: str
    master: MasterAction
    new_credential: bool
    jobs: JobsPlan

    @property
    def changes(self) -> bool:
        return self.master is not MasterAction.KEEP or self.new_credential or self.jobs.changes > 0

    def describe(self) -> list[str]:
        lines = [f"team {self.team}:"]
        lines.append(
            {
                MasterAction.CREATE: f"  create master from {self.image}",
                MasterAction.REPLACE: f"  replace master with {self.image} (JENKINS_HOME kept)",
                MasterAction.KEEP: f"  master unchanged ({self.image})",
            }[self.master]
        )
        if self.new_credential:
            lines.append(f"  create admin credential for {ADMIN_USER}")
        lines.append("  apply Configuration-as-Code")
        lines += [f"  create job {n}" for n in self.jobs.create]
        lines += [f"  update job {n}" for n in self.jobs.update]
        lines += [f"  delete job {n} (no longer in the team file)" for n in self.jobs.delete]
        lines += [f"  forget job {n} (deleted on the master by hand)" for n in self.jobs.forget]
        if self.jobs.unchanged:
            lines.append(f"  {len(self.jobs.unchanged)} job(s) unchanged")
        return lines
