"""A Marathon REST v2 emulator: ciorch's public testing kit for Marathon (like moto for AWS).

Marathon cannot run everywhere ciorch is tested, so this package answers as Marathon's
REST v2 does (paths, status codes, JSON shapes, error bodies, asynchronous deployments,
409 locking) for the calls the ``marathon`` 0.13.0 client makes. App bodies are validated
with Marathon's own JSON Schema (``ciorch/schemas/marathon/AppDefinition.json``). Tasks
are records in memory, or real Docker containers (host networking) with
``executor="docker"``.

In a test::

    from ciorch.adapters.marathon_compat import client
    from ciorch.testing.marathon import MarathonEmulator

    with MarathonEmulator(deployment_seconds=0.1) as marathon:
        c = client(marathon.url)
        c.create_app("/team-a/agent", MarathonApp(cmd="sleep 300", instances=2))
        # the answer comes at once; tasks are staged, then running; the deployment
        # stays in c.list_deployments() until both run (and are healthy, with checks)

Knobs: ``MarathonEmulator(executor="memory"|"docker"|<TaskExecutor>,
deployment_seconds=0.2, health=fn, health_interval=None, health_deadline=60,
credentials=None, seed=0)``. Faults: ``.latency`` (seconds per request),
``.error_rate`` with ``.error_status`` (500/503; seeded RNG), ``.down()`` / ``.up()``
(really stop listening: connections are refused), ``.restart(keep_state=True)``; the same
over HTTP with ``POST /ciorch-admin/faults`` {"latency", "error_rate", "error_status",
"seed", "down_seconds"} and ``POST /ciorch-admin/restart`` {"keep_state"}. With the memory
executor a test can crash a task with ``emulator.executor.fail(task_id)``.

From a shell (serves until SIGTERM/SIGINT, then removes its containers)::

    python -m ciorch.testing.marathon --port 8080 [--executor memory|docker]
        [--deployment-seconds 0.2]

Docker tasks carry the labels ``ciorch.marathon.emulator=<emulator.instance_id>``,
``ciorch.marathon.app`` and ``ciorch.marathon.task``; ``stop()`` removes them all.
"""

from __future__ import annotations

from .apps import ApiError, app_schema
from .executors import (
    APP_LABEL,
    EMULATOR_LABEL,
    TASK_LABEL,
    DockerExecutor,
    LaunchError,
    MemoryExecutor,
    TaskExecutor,
    TaskSpec,
    TaskStatus,
)
from .selectors import LabelSelector, SelectorError, parse_selector
from .server import MarathonEmulator

__all__ = [
    "APP_LABEL",
    "EMULATOR_LABEL",
    "TASK_LABEL",
    "ApiError",
    "DockerExecutor",
    "LabelSelector",
    "LaunchError",
    "MarathonEmulator",
    "MemoryExecutor",
    "SelectorError",
    "TaskExecutor",
    "TaskSpec",
    "TaskStatus",
    "app_schema",
    "parse_selector",
]
