"""Deployment records and their answer shape (``GET /v2/deployments``).

A deployment in the emulator is a record of one change to one app; it finishes when the
reconcile loop has brought the app's tasks to the target (running, and healthy when the
app has health checks). The tasks are always driven towards the app's current definition,
so cancelling a deployment with ``force=true`` only drops the record, as in Marathon.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Deployment", "locked_error_body", "steps_for"]

Json = dict[str, Any]

START, SCALE, RESTART, STOP = (
    "StartApplication",
    "ScaleApplication",
    "RestartApplication",
    "StopApplication",
)


def steps_for(kind: str) -> list[list[str]]:
    """The plan Marathon makes for one app change: a new app is started, then scaled."""
    if kind == START:
        return [[START], [SCALE]]
    return [[kind]]


@dataclass
class Deployment:
    app_id: str
    kind: str
    version: str
    original: Json | None
    """The definition before the change (None: the app did not exist), for rollback."""
    config_version: str | None
    """The config version the app must run when done; None for a stop."""
    started: float
    """Monotonic time of creation."""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def answer(self) -> Json:
        steps = steps_for(self.kind)
        current = steps[-1]
        return {
            "id": self.id,
            "version": self.version,
            "affectedApps": [self.app_id],
            "affectedPods": [],
            "steps": [{"actions": [{"action": a, "app": self.app_id} for a in s]} for s in steps],
            "currentActions": [
                {"action": a, "app": self.app_id, "readinessCheckResults": []} for a in current
            ],
            "currentStep": len(steps),
            "totalSteps": len(steps),
        }

    def result(self) -> Json:
        """The body of a change that started this deployment."""
        return {"version": self.version, "deploymentId": self.id}


def locked_error_body(deployment_ids: list[str]) -> Json:
    return {
        "message": (
            "App is locked by one or more deployments. Override with the option "
            f"'?force=true'. View details at '/v2/deployments/{deployment_ids[0]}'."
        ),
        "deployments": [{"id": d} for d in deployment_ids],
    }
