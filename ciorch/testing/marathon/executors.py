"""Task executors: what a Marathon task *is* in the emulator.

:class:`MemoryExecutor` keeps tasks as records (fast, for unit tests); a test can make a
task fail (:meth:`MemoryExecutor.fail`) and decide health with a function.
:class:`DockerExecutor` runs every task as a real container on the local engine, always
with host networking (the engine here has no bridge), labelled so that a test or a
janitor can find them: ``ciorch.marathon.emulator=<emulator id>``,
``ciorch.marathon.app=<app id>``, ``ciorch.marathon.task=<task id>``.

The emulator calls an executor from its single reconcile thread only (``close`` may come
from another thread after that thread stopped), so executors need no locking of their own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "APP_LABEL",
    "EMULATOR_LABEL",
    "TASK_LABEL",
    "DockerExecutor",
    "LaunchError",
    "MemoryExecutor",
    "TaskExecutor",
    "TaskSpec",
    "TaskStatus",
    "probe_http",
    "probe_tcp",
]

EMULATOR_LABEL = "ciorch.marathon.emulator"
APP_LABEL = "ciorch.marathon.app"
TASK_LABEL = "ciorch.marathon.task"

Json = dict[str, Any]


@dataclass(frozen=True)
class TaskSpec:
    """Everything an executor needs to start one task."""

    task_id: str
    app_id: str
    version: str
    app: Json
    ports: tuple[int, ...]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskStatus:
    """``state``: ``staging``, ``running``, ``failed`` or ``finished`` (exited 0)."""

    state: str
    message: str = ""


class LaunchError(Exception):
    """The executor could not start the task; the task fails with this message."""


class TaskExecutor(Protocol):
    def bind(self, emulator_id: str) -> None:
        """Called once by the emulator before any task is launched."""

    def launch(self, spec: TaskSpec) -> None: ...

    def poll(self) -> dict[str, TaskStatus]:
        """The status of every task launched and not killed."""

    def kill(self, task_id: str) -> None: ...

    def check_health(self, spec: TaskSpec, check: Json) -> tuple[bool, str]:
        """Run one health check: (alive, failure cause)."""

    def close(self) -> None:
        """Kill every task this executor started."""


HealthFunction = Callable[[TaskSpec, Json], bool]


def probe_http(port: int, path: str, timeout: float, ignore_1xx: bool = False) -> tuple[bool, str]:
    """Marathon's HTTP check: 200-399 is healthy (1xx too with ignoreHttp1xx)."""
    url = f"http://127.0.0.1:{port}{path or '/'}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if 200 <= status < 400 or (ignore_1xx and 100 <= status < 200):
        return True, ""
    return False, f"HTTP {status}"


def probe_tcp(port: int, timeout: float) -> tuple[bool, str]:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True, ""
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc}"


def _check_port(spec: TaskSpec, check: Json) -> int | None:
    if "port" in check:
        return int(check["port"])
    index = int(check.get("portIndex", 0))
    return spec.ports[index] if index < len(spec.ports) else None


def probe_network(spec: TaskSpec, check: Json, timeout: float) -> tuple[bool, str] | None:
    """HTTP/TCP checks against 127.0.0.1 (host networking); None for other protocols."""
    protocol = str(check.get("protocol", "HTTP")).removeprefix("MESOS_")
    if protocol not in ("HTTP", "HTTPS", "TCP"):
        return None
    port = _check_port(spec, check)
    if port is None:
        return False, "no port for portIndex"
    if protocol == "TCP":
        return probe_tcp(port, timeout)
    return probe_http(port, str(check.get("path", "/")), timeout, bool(check.get("ignoreHttp1xx")))


class MemoryExecutor:
    """Tasks as records: running as soon as launched (the emulator adds the staging
    delay). ``health(spec, check) -> bool`` decides every health check (default: healthy)."""

    def __init__(self, health: HealthFunction | None = None) -> None:
        self.health: HealthFunction = health or (lambda spec, check: True)
        self.tasks: dict[str, TaskSpec] = {}
        self._failed: dict[str, TaskStatus] = {}
        self.emulator_id = ""

    def bind(self, emulator_id: str) -> None:
        self.emulator_id = emulator_id

    def launch(self, spec: TaskSpec) -> None:
        self.tasks[spec.task_id] = spec

    def poll(self) -> dict[str, TaskStatus]:
        return {tid: self._failed.get(tid, TaskStatus("running")) for tid in self.tasks}

    def fail(self, task_id: str, message: str = "Command exited with status 1") -> None:
        """Make a running task exit as a failure (as a crashing process would)."""
        self._failed[task_id] = TaskStatus("failed", message)

    def kill(self, task_id: str) -> None:
        self.tasks.pop(task_id, None)
        self._failed.pop(task_id, None)

    def check_health(self, spec: TaskSpec, check: Json) -> tuple[bool, str]:
        alive = bool(self.health(spec, check))
        return alive, "" if alive else "health function said unhealthy"

    def close(self) -> None:
        self.tasks.clear()
        self._failed.clear()


class DockerExecutor:
    """Each task is a container: the app's image (``default_image`` for an app without
    a Docker container), ``cmd`` as ``/bin/sh -c cmd`` or ``args`` as the command,
    env (with PORT0...), cpus -> nano_cpus, mem -> mem_limit, the app's labels plus
    the emulator's, ``network_mode="host"`` always."""

    def __init__(self, client: Any = None, default_image: str = "local/debian:bookworm") -> None:
        if client is None:
            import docker  # noqa: PLC0415  (lazy: only the Docker executor needs it)

            client = docker.from_env(timeout=60)
        self.client = client
        self.default_image = default_image
        self.emulator_id = ""
        self.containers: dict[str, Any] = {}
        self.specs: dict[str, TaskSpec] = {}

    def bind(self, emulator_id: str) -> None:
        self.emulator_id = emulator_id

    def _command(self, app: Json) -> list[str] | None:
        if app.get("cmd"):
            return ["/bin/sh", "-c", str(app["cmd"])]
        if app.get("args"):
            return [str(a) for a in app["args"]]
        return None

    def launch(self, spec: TaskSpec) -> None:
        app = spec.app
        docker_part = (app.get("container") or {}).get("docker") or {}
        image = docker_part.get("image") or self.default_image
        labels = {str(k): str(v) for k, v in (app.get("labels") or {}).items()}
        labels.update(
            {
                EMULATOR_LABEL: self.emulator_id,
                APP_LABEL: spec.app_id,
                TASK_LABEL: spec.task_id,
            }
        )
        # Docker refuses more CPUs than the host has; Mesos would not offer them either.
        cpus = min(float(app.get("cpus", 1)), float(os.cpu_count() or 1))
        volumes = {
            v["hostPath"]: {"bind": v["containerPath"], "mode": str(v.get("mode", "RW")).lower()}
            for v in (app.get("container") or {}).get("volumes", [])
            if v.get("hostPath") and v.get("containerPath")
        }
        try:
            container = self.client.containers.run(
                image,
                command=self._command(app),
                detach=True,
                network_mode="host",
                environment=dict(spec.env),
                labels=labels,
                nano_cpus=int(cpus * 1e9) if cpus > 0 else None,
                mem_limit=f"{max(int(app.get('mem', 128)), 6)}m",
                privileged=bool(docker_part.get("privileged", False)),
                volumes=volumes or None,
                name="mesos-" + spec.task_id.replace("/", "_"),
            )
        except Exception as exc:  # docker.errors.* (image missing, bad options)
            raise LaunchError(f"Failed to launch container: {exc}") from exc
        self.containers[spec.task_id] = container
        self.specs[spec.task_id] = spec

    def poll(self) -> dict[str, TaskStatus]:
        found = self.client.containers.list(
            all=True, filters={"label": f"{EMULATOR_LABEL}={self.emulator_id}"}
        )
        states: dict[str, Any] = {c.labels.get(TASK_LABEL, ""): c for c in found}
        out: dict[str, TaskStatus] = {}
        for task_id in self.containers:
            container = states.get(task_id)
            if container is None:
                out[task_id] = TaskStatus("failed", "Container disappeared")
                continue
            status = container.status
            if status == "running":
                out[task_id] = TaskStatus("running")
            elif status in ("created", "restarting"):
                out[task_id] = TaskStatus("staging")
            else:
                code = container.attrs.get("State", {}).get("ExitCode", -1)
                state = "finished" if code == 0 else "failed"
                out[task_id] = TaskStatus(state, f"Container exited with status {code}")
        return out

    def kill(self, task_id: str) -> None:
        container = self.containers.pop(task_id, None)
        self.specs.pop(task_id, None)
        if container is not None:
            with contextlib.suppress(Exception):  # already gone
                container.remove(force=True, v=True)

    def check_health(self, spec: TaskSpec, check: Json) -> tuple[bool, str]:
        timeout = min(float(check.get("timeoutSeconds", 20)), 5.0)
        probed = probe_network(spec, check, timeout)
        if probed is not None:
            return probed
        container = self.containers.get(spec.task_id)
        command = (check.get("command") or {}).get("value")
        if container is None or not command:
            return False, "no command"
        try:
            result = container.exec_run(["/bin/sh", "-c", str(command)])
        except Exception as exc:
            return False, str(exc)
        return result.exit_code == 0, f"exit code {result.exit_code}"

    def close(self) -> None:
        """Remove every container this emulator instance started (found by label, so
        containers of a crashed earlier run of the same instance id go too)."""
        try:
            found = self.client.containers.list(
                all=True, filters={"label": f"{EMULATOR_LABEL}={self.emulator_id}"}
            )
        except Exception:
            found = list(self.containers.values())
        for container in found:
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
        self.containers.clear()
        self.specs.clear()
