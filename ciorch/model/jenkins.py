"""What ciorch reads from a Jenkins master, as its own frozen types."""

from __future__ import annotations

__all__ = ["BuildInfo", "JobInfo", "NodeInfo", "QueueItem"]

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JobInfo:
    name: str
    color: str  # blue, red, disabled, notbuilt, ..._anime while building
    url: str

    @property
    def disabled(self) -> bool:
        return self.color == "disabled"


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A queued build. ``label`` is the job's label expression (None: may roam)."""

    id: int
    job: str
    label: str | None
    why: str | None
    buildable: bool
    blocked: bool
    stuck: bool
    in_queue_since: float  # epoch seconds
    params: tuple[tuple[str, str], ...] = ()
    cancelled: bool = False
    build_number: int | None = None  # once the item has left the queue and runs

    @property
    def left(self) -> bool:
        return self.cancelled or self.build_number is not None


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    labels: tuple[str, ...]
    executors: int
    idle: bool
    offline: bool
    temporarily_offline: bool
    busy_executors: int = 0


@dataclass(frozen=True, slots=True)
class BuildInfo:
    job: str
    number: int
    building: bool
    result: str | None
    duration_ms: int
    timestamp_ms: int
    built_on: str | None
    queue_id: int
