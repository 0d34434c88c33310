"""The emulator's in-memory objects: jobs, builds, queue items, nodes and executors.

Plain mutable dataclasses guarded by the single lock of
:class:`ciorch.testing.jenkins.state.JenkinsState`; nothing here takes a lock or reads a clock.
Each class names the Jenkins class whose observable behaviour it stands for.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from .config import JobConfig, ParameterDef
from .labels import Expr, split_labels

__all__ = [
    "BUILT_IN_LABEL",
    "BUILT_IN_NAME",
    "Build",
    "Executor",
    "Job",
    "Node",
    "ParamValue",
    "QueueItem",
    "agent_secret",
]

BUILT_IN_NAME = "(built-in)"
"""URL name of the built-in node's computer (``/computer/(built-in)/``; ``(master)`` too)."""
BUILT_IN_LABEL = "built-in"
"""The built-in node's self label (``Jenkins.getSelfLabel`` since 2.307)."""


def agent_secret(key: bytes, node_name: str) -> str:
    """``JnlpAgentReceiver.SLAVE_SECRET``: hex HMAC-SHA256 of the node name (64 hex chars)."""
    return hmac.new(key, node_name.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ParamValue:
    """A ``hudson.model.ParameterValue`` of a queued item or a build."""

    definition: ParameterDef
    value: str | bool

    @property
    def as_env(self) -> str:
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return self.value


@dataclass
class Job:
    """A ``hudson.model.FreeStyleProject`` (or a folder, which only holds other jobs)."""

    full_name: str
    config: JobConfig
    next_number: int = 1
    builds: dict[int, Build] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.full_name.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        return self.full_name.rsplit("/", 1)[0] if "/" in self.full_name else ""

    @property
    def url_path(self) -> str:
        return "".join(f"job/{part}/" for part in self.full_name.split("/"))


@dataclass
class Build:
    """A ``hudson.model.FreeStyleBuild`` and its ``Run.State`` (API.md C6)."""

    job: str
    number: int
    queue_id: int
    built_on: str
    node_name: str
    executor_number: int
    params: tuple[ParamValue, ...]
    timestamp_ms: int
    estimated_ms: int
    started_by: str
    state: str = "BUILDING"  # NOT_STARTED, BUILDING, COMPLETED
    result: str | None = None
    duration_ms: int = 0
    console: list[str] = field(default_factory=list)
    abort_requested: bool = False
    aborted_by: str | None = None
    delivered: bool = False
    abort_sent: bool = False
    work_until: float | None = None

    @property
    def building(self) -> bool:
        return self.state != "COMPLETED"

    @property
    def in_progress(self) -> bool:
        return self.state == "BUILDING"


@dataclass
class QueueItem:
    """A ``hudson.model.Queue.Item`` through Waiting, Blocked, Buildable (pending) and Left."""

    id: int
    job: str
    params: tuple[ParamValue, ...]
    parameterized: bool
    started_by: str
    in_queue_since_ms: int
    due: float
    state: str = "waiting"  # waiting, blocked, buildable, left
    pending: bool = False
    buildable_since_ms: int = 0
    why: str | None = None
    stuck: bool = False
    cancelled: bool = False
    build_number: int | None = None
    left_at: float | None = None
    assigned: tuple[str, int] | None = None

    @property
    def url(self) -> str:
        return f"queue/item/{self.id}/"

    def same_params(self, params: tuple[ParamValue, ...]) -> bool:
        return [(p.definition.name, p.value) for p in self.params] == [
            (p.definition.name, p.value) for p in params
        ]


@dataclass
class Executor:
    """A ``hudson.model.Executor`` slot: idle, reserved for a pending item, or running a build."""

    number: int
    reserved_item: int | None = None
    build: tuple[str, int] | None = None

    @property
    def idle(self) -> bool:
        return self.reserved_item is None and self.build is None


@dataclass
class Node:
    """A node and its computer: ``DumbSlave``/``SlaveComputer``, ``SwarmSlave`` or the built-in
    ``Hudson$MasterComputer``.

    ``offline`` is two flags (API.md C2): ``temporarily_offline`` (toggleOffline) OR not
    ``connected``.
    """

    name: str
    num_executors: int
    label_string: str = ""
    mode: str = "NORMAL"
    description: str = ""
    remote_fs: str = "/home/jenkins"
    built_in: bool = False
    swarm: bool = False
    keep_disconnected: bool = True
    connected: bool = False
    agent_kind: str | None = None  # "http" or "virtual" while connected
    session: str | None = None
    last_seen: float = 0.0
    temporarily_offline: bool = False
    offline_cause: str | None = None  # "user" or "channel"
    offline_message: str = ""
    offline_by: str = ""
    offline_since_ms: int = 0
    executors: list[Executor] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.executors:
            self.executors = [Executor(i) for i in range(self.num_executors)]

    @property
    def display_name(self) -> str:
        return "Built-In Node" if self.built_in else self.name

    @property
    def node_name(self) -> str:
        """``Node.getNodeName``: "" for the built-in node."""
        return "" if self.built_in else self.name

    @property
    def online(self) -> bool:
        return self.connected and not self.temporarily_offline

    @property
    def labels(self) -> frozenset[str]:
        """``Node.getAssignedLabels``: the label string's atoms plus the node's self label."""
        own = BUILT_IN_LABEL if self.built_in else self.name
        return frozenset(split_labels(self.label_string)) | {own}

    def matches(self, label: Expr) -> bool:
        return label.matches(self.labels)

    def idle_executors(self) -> list[Executor]:
        return [e for e in self.executors if e.idle]

    @property
    def idle(self) -> bool:
        return all(e.idle for e in self.executors)
