"""Task and app records of the emulator and their answer shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .executors import TaskSpec

__all__ = ["AppRecord", "Health", "Task"]

Json = dict[str, Any]

STAGING, RUNNING, KILLING = "TASK_STAGING", "TASK_RUNNING", "TASK_KILLING"


@dataclass
class Health:
    """The state of one health check of one task."""

    alive: bool | None = None
    consecutive_failures: int = 0
    first_success: str | None = None
    last_success: str | None = None
    last_failure: str | None = None
    last_failure_cause: str | None = None
    next_check: float = 0.0

    def answer(self, task_id: str) -> Json | None:
        if self.alive is None:
            return None
        out: Json = {
            "alive": self.alive,
            "consecutiveFailures": self.consecutive_failures,
            "firstSuccess": self.first_success,
            "lastSuccess": self.last_success,
            "lastFailure": self.last_failure,
            "lastFailureCause": self.last_failure_cause,
            "taskId": task_id,
            "instanceId": task_id,
        }
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class Task:
    id: str
    app_id: str
    version: str
    """The app version the task was launched with."""
    config_version: str
    """The app's lastConfigChangeAt at launch: tasks of an older one get replaced."""
    spec: TaskSpec
    staged_at: str
    staged_mono: float
    service_ports: list[int]
    health: list[Health]
    state: str = STAGING
    started_at: str | None = None
    started_mono: float | None = None
    launched: bool = False
    kill_reason: str | None = None
    seq: int = 0

    @property
    def ports(self) -> list[int]:
        return list(self.spec.ports)

    def is_healthy(self) -> bool:
        return bool(self.health) and all(h.alive for h in self.health)

    def is_unhealthy(self) -> bool:
        return any(h.alive is False for h in self.health)

    def answer(self, agent_id: str) -> Json:
        out: Json = {
            "id": self.id,
            "appId": self.app_id,
            "host": "127.0.0.1",
            "slaveId": agent_id,
            "state": self.state,
            "stagedAt": self.staged_at,
            "version": self.version,
            "ports": self.ports,
            "servicePorts": list(self.service_ports),
            "ipAddresses": [{"ipAddress": "127.0.0.1", "protocol": "IPv4"}],
            "healthCheckResults": [
                a for a in (h.answer(self.id) for h in self.health) if a is not None
            ],
        }
        if self.started_at is not None:
            out["startedAt"] = self.started_at
        return out


@dataclass
class AppRecord:
    request: Json
    """The definition as sent (merged over earlier PUTs); what a PUT validates against."""
    definition: Json
    """Normalised, with version and versionInfo: what GET answers (filtered)."""
    last_failure: Json | None = None
    failures: int = 0
    backoff_until: float = 0.0
    gave_up: bool = False
    extra: Json = field(default_factory=dict)

    @property
    def app_id(self) -> str:
        return str(self.definition["id"])

    @property
    def config_version(self) -> str:
        return str(self.definition["versionInfo"]["lastConfigChangeAt"])

    @property
    def instances(self) -> int:
        return int(self.definition.get("instances", 1))
