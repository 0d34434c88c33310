"""ciorch's own runtime-state types: what the state store holds and what adapters return.

Frozen, slotted dataclasses and ``NewType`` ids; no behaviour beyond plain values. Times
are float seconds since the epoch (the injected clock's unit). Enum members are upper
case, their values (what is stored and shown) lower case.
"""

from __future__ import annotations

__all__ = [
    "AgentClass",
    "AgentRecord",
    "AgentState",
    "BuildRecord",
    "BuildResult",
    "Credential",
    "HookEvent",
    "HookState",
    "JobName",
    "Label",
    "MasterRecord",
    "MasterState",
    "NodeName",
    "PoolDecision",
    "TeamId",
    "TeamRecord",
]

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

TeamId = NewType("TeamId", str)
"""A team's name, as in its team spec; names its master and prefixes its agents."""

NodeName = NewType("NodeName", str)
"""A Jenkins node (agent) name; ciorch makes these unique across the fleet."""

Label = NewType("Label", str)
"""A Jenkins label expression that jobs ask for and agents offer (one per environment)."""

JobName = NewType("JobName", str)
"""A Jenkins job's full name on its team's master (``folder/job``)."""


class AgentClass(StrEnum):
    """How an agent is used."""

    EPHEMERAL = "ephemeral"  # one throwaway container per build, destroyed after it
    POOL = "pool"  # a warm, self-registered agent that serves many builds


class AgentState(StrEnum):
    """Where an agent is in its life, as ciorch last recorded it."""

    REQUESTED = "requested"  # decided on; no container asked for yet
    STARTING = "starting"  # container asked for, not yet connected to the master
    CONNECTED = "connected"  # online at the master and idle
    BUSY = "busy"  # running a build
    DRAINING = "draining"  # taking no new builds; removed once idle
    REMOVED = "removed"  # container and node are gone
    FAILED = "failed"  # did not start or connect; awaiting cleanup


class MasterState(StrEnum):
    """A team master's deployment state."""

    DEPLOYING = "deploying"  # first deployment in progress
    HEALTHY = "healthy"  # answering and passing the health gate
    UNHEALTHY = "unhealthy"  # deployed but failing the health gate
    UPGRADING = "upgrading"  # a new image is being rolled out
    ROLLED_BACK = "rolled_back"  # an upgrade failed its gate; back on previous_image
    REMOVED = "removed"  # torn down


class HookState(StrEnum):
    """A recorded SCM hook event's dispatch state."""

    PENDING = "pending"  # recorded, not yet queued at the master (retried until then)
    DISPATCHED = "dispatched"  # queued at the master; ``queue_id`` says where
    FAILED = "failed"  # gave up: dispatching can never succeed
    IGNORED = "ignored"  # deliberately not built (e.g. the job or team is gone)


class BuildResult(StrEnum):
    """A finished Jenkins build's result (Jenkins' own names)."""

    SUCCESS = "SUCCESS"
    UNSTABLE = "UNSTABLE"
    FAILURE = "FAILURE"
    NOT_BUILT = "NOT_BUILT"
    ABORTED = "ABORTED"


@dataclass(frozen=True, slots=True)
class TeamRecord:
    """An onboarded team, with the spec it was onboarded from."""

    #: the team's unique name
    name: TeamId
    #: the validated team spec, as JSON text
    spec_json: str
    #: a digest of the spec, to tell cheaply whether it changed
    spec_digest: str
    #: where the spec came from (a file path or ``cli``)
    source: str
    #: when the team was first recorded
    created_at: float
    #: when the record last changed
    updated_at: float


@dataclass(frozen=True, slots=True)
class MasterRecord:
    """A team's Jenkins master as ciorch last deployed it."""

    #: the owning team (one master per team)
    team: TeamId
    #: the master image now deployed (or being deployed)
    image: str
    #: the image before the last upgrade, to roll back to
    previous_image: str | None
    #: the master's base URL, once known
    url: str | None
    #: the runtime's id for it (Marathon app id or Docker container id), once known
    runtime_id: str | None
    #: its deployment state
    state: MasterState
    #: the Jenkins user ciorch administers it as (its secret is not stored here)
    admin_user: str | None
    #: when the record last changed
    updated_at: float


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """An agent ciorch started (or decided to start) for a team."""

    #: the Jenkins node name, unique across the fleet
    node_name: NodeName
    #: the owning team
    team: TeamId
    #: the label it serves
    label: Label
    #: ephemeral (one build) or pool (warm, many builds)
    agent_class: AgentClass
    #: the runtime's id for its container or task, once started
    runtime_id: str | None
    #: where it is in its life
    state: AgentState
    #: the Jenkins queue item an ephemeral agent was started for, or the build's it runs
    queue_id: int | None
    #: when it was first recorded
    created_at: float
    #: when the record last changed
    updated_at: float


@dataclass(frozen=True, slots=True)
class HookEvent:
    """One SCM hook delivery routed to one job, recorded before it is acknowledged."""

    #: the store's id, in arrival order
    id: int
    #: identifies the delivery+job; a redelivery with the same key is recorded once
    dedupe_key: str
    #: the team owning the job
    team: TeamId
    #: the repository URL or path the hook came from
    repository: str
    #: the branch or path that changed (``refs/heads/main``, ``trunk``)
    ref: str
    #: the new revision (Git commit id or SVN revision number, as text)
    revision: str
    #: the job to build
    job: JobName
    #: the hook's payload as received, as JSON text
    payload_json: str
    #: its dispatch state
    state: HookState
    #: how many dispatch attempts failed
    attempts: int
    #: the last failure's (or ignore's) reason
    last_error: str | None
    #: when it was recorded
    received_at: float
    #: when it was queued at the master
    dispatched_at: float | None
    #: the Jenkins queue item it became
    queue_id: int | None


@dataclass(frozen=True, slots=True)
class BuildRecord:
    """A build ciorch queued or observed, kept for history and capacity planning."""

    #: the store's id
    id: int
    #: the owning team
    team: TeamId
    #: the job built
    job: JobName
    #: the Jenkins queue item, while queued
    queue_id: int | None
    #: the Jenkins build number, once started
    number: int | None
    #: the result, once finished
    result: BuildResult | None
    #: the node it ran on, once started
    node_name: NodeName | None
    #: when it started running
    started_at: float | None
    #: when it finished
    finished_at: float | None


@dataclass(frozen=True, slots=True)
class PoolDecision:
    """One pool-sizing decision, with what it was based on, for audit and tuning."""

    #: the store's id
    id: int
    #: the team whose pool it is
    team: TeamId
    #: the pool's label
    label: Label
    #: when the decision was made
    at: float
    #: the observations it was based on, as JSON text
    observed_json: str
    #: the pool's size when deciding
    current: int
    #: the size decided on
    desired: int
    #: why, in a few words
    reason: str


@dataclass(frozen=True, slots=True)
class Credential:
    """The admin user ciorch made on a team's master. ``secret`` is never logged."""

    team: TeamId
    username: str
    secret: str = field(repr=False)
