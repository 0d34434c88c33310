"""What a runtime runs (specs) and what it reports (services and instances).

Shared by both runtimes (local Docker engine, Marathon) so the rest of ciorch never
knows which one it talks to. Ids are the runtime's own (a container id, a Marathon
task id), opaque to callers."""

from __future__ import annotations

__all__ = [
    "LABEL_DIGEST",
    "LABEL_INSTANCE",
    "LABEL_KIND",
    "LABEL_NODE",
    "LABEL_OWNER",
    "LABEL_SERVICE",
    "LABEL_TEAM",
    "LABEL_TEMPLATE",
    "ContainerSpec",
    "HealthCheck",
    "Instance",
    "InstanceState",
    "Resources",
    "Service",
    "ServiceSpec",
    "VolumeSpec",
    "WorkloadKind",
    "runtime_labels",
    "spec_digest",
]

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum

# Labels on everything ciorch starts; listing by them finds what ciorch owns after a
# restart, with nothing kept in memory.
LABEL_OWNER = "ciorch.owner"  # which ciorch installation started it
LABEL_TEAM = "ciorch.team"
LABEL_KIND = "ciorch.kind"  # master | pool | agent
LABEL_SERVICE = "ciorch.service"  # service name within the team: master, pool-<label>
LABEL_TEMPLATE = "ciorch.template"  # agent template (Jenkins label)
LABEL_NODE = "ciorch.node"  # Jenkins node name of a throwaway agent
LABEL_INSTANCE = "ciorch.instance"  # instance index within a service
LABEL_DIGEST = "ciorch.spec-digest"  # spec_digest() of the service an instance runs


class WorkloadKind(StrEnum):
    MASTER = "master"
    POOL = "pool"
    AGENT = "agent"


class InstanceState(StrEnum):
    STARTING = "starting"  # created or staged, not running yet
    RUNNING = "running"  # running, no health check (or within its grace period)
    HEALTHY = "healthy"  # running and its health check passes
    UNHEALTHY = "unhealthy"  # running and its health check fails
    EXITED = "exited"  # ended by itself (exit_code says how)
    FAILED = "failed"  # could not be started, or killed by the system


@dataclass(frozen=True, slots=True)
class Resources:
    cpus: float = 1.0
    mem_mib: int = 1024
    pids_limit: int | None = None


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """HTTP GET on the instance's port; 2xx/3xx is healthy."""

    path: str = "/login"
    grace_seconds: float = 300.0
    interval_seconds: float = 10.0
    timeout_seconds: float = 5.0
    max_failures: int = 3


@dataclass(frozen=True, slots=True)
class VolumeSpec:
    """A persistent volume (JENKINS_HOME): named volume on Docker, a persistent local
    volume on Marathon."""

    name: str
    mount_path: str
    size_mib: int = 10240


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """One container: a throwaway agent, or the template of a service's instances."""

    team: str
    kind: WorkloadKind
    name: str  # unique within the team: master, pool-<label>, agent-<node>
    image: str
    args: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None  # None: the image's own
    env: Mapping[str, str] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    labels: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None  # None: the image's own USER
    read_only_root: bool = False
    work_dir: str | None = None  # a tmpfs when read_only_root
    template: str | None = None
    node_name: str | None = None


def runtime_labels(spec: ContainerSpec, owner: str) -> dict[str, str]:
    """The labels every runtime puts on what it starts for ``spec``: the spec's own plus
    ciorch's ownership labels, by which a restarted ciorch finds what it owns."""
    labels = {
        **spec.labels,
        LABEL_OWNER: owner,
        LABEL_TEAM: spec.team,
        LABEL_KIND: spec.kind.value,
        LABEL_SERVICE: spec.name,
    }
    if spec.template:
        labels[LABEL_TEMPLATE] = spec.template
    if spec.node_name:
        labels[LABEL_NODE] = spec.node_name
    return labels


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """N identical long-running instances (a pool), or one with a volume and a health
    check (a master). ``port``: the instance gets a free host port as PORT0."""

    container: ContainerSpec
    instances: int = 1
    volume: VolumeSpec | None = None
    health: HealthCheck | None = None
    port: bool = False
    restart: bool = True
    constraints: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Instance:
    id: str
    name: str
    service: str | None  # the service's runtime id; None for a one-off container
    state: InstanceState
    labels: Mapping[str, str]
    image: str
    host: str = "127.0.0.1"
    ports: tuple[int, ...] = ()
    started_at: float | None = None
    exit_code: int | None = None

    @property
    def alive(self) -> bool:
        return self.state in (
            InstanceState.STARTING,
            InstanceState.RUNNING,
            InstanceState.HEALTHY,
            InstanceState.UNHEALTHY,
        )


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    team: str
    name: str
    kind: WorkloadKind
    image: str
    instances: int  # desired
    tasks: tuple[Instance, ...]
    deploying: bool = False
    port: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def running(self) -> int:
        return sum(1 for t in self.tasks if t.alive and t.state is not InstanceState.STARTING)

    @property
    def healthy(self) -> int:
        return sum(1 for t in self.tasks if t.state is InstanceState.HEALTHY)


def spec_digest(spec: ServiceSpec) -> str:
    """A short digest of everything that defines a service's instances (not their
    count): equal digests mean an instance needs no replacing."""
    text = json.dumps(asdict(replace(spec, instances=0)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
