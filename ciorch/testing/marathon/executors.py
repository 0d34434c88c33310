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
import re
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

# Where Mesos mounts a task's sandbox in a Docker container.
SANDBOX = "/mnt/mesos/sandbox"


def _size(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    text = text.strip().lower().removesuffix("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def docker_options(parameters: list[Json]) -> dict[str, Any]:
    """``container.docker.parameters`` as docker-py ``containers.create`` arguments:
    Mesos' Docker containerizer passes each one as ``--key=value`` to ``docker run``,
    so a key may repeat (``cap-drop``, ``label``, ``tmpfs``, ``volume``). ``labels``
    and ``named_volumes`` are returned for the executor to merge. An option the
    emulator does not know fails the launch, as ``docker run`` fails on an unknown
    flag. ``env`` is returned for the executor to merge too."""
    out: dict[str, Any] = {}
    for parameter in parameters:
        key, value = str(parameter.get("key", "")), str(parameter.get("value", ""))
        if key == "pids-limit":
            out["pids_limit"] = int(value)
        elif key in ("cap-drop", "cap-add", "security-opt", "dns", "add-host"):
            out.setdefault(key.replace("-", "_"), []).append(value)
        elif key == "read-only":
            out["read_only"] = value.lower() in ("", "true", "1")
        elif key == "tmpfs":
            path, _, opts = value.partition(":")
            out.setdefault("tmpfs", {})[path] = opts
        elif key in ("user", "u"):
            out["user"] = value
        elif key in ("workdir", "w"):
            out["working_dir"] = value
        elif key in ("label", "l"):
            name, _, text = value.partition("=")
            out.setdefault("labels", {})[name] = text
        elif key == "entrypoint":
            out["entrypoint"] = [value]  # docker run takes one word: the executable
        elif key in ("volume", "v"):
            parts = value.split(":")
            if len(parts) < 2:
                raise LaunchError(f"Failed to launch container: bad volume {value!r}")
            mode = parts[2] if len(parts) > 2 else "rw"
            out.setdefault("named_volumes", {})[parts[0]] = {"bind": parts[1], "mode": mode}
        elif key in ("env", "e"):
            name, _, text = value.partition("=")
            out.setdefault("env", {})[name] = text
        elif key == "memory-swap":
            out["memswap_limit"] = _size(value)
        elif key == "shm-size":
            out["shm_size"] = _size(value)
        elif key == "hostname":
            out["hostname"] = value
        else:
            raise LaunchError(
                f"Failed to launch container: docker parameter {key!r} is not supported "
                "by the emulator"
            )
    return out


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
    the emulator's, ``network_mode="host"`` always; ``container.docker.parameters`` as
    ``docker run`` flags (:func:`docker_options`) and persistent local volumes as
    Docker volumes that live as long as the app (:meth:`release`). A container that
    cannot start is removed before the launch fails."""

    def __init__(self, client: Any = None, default_image: str = "local/debian:bookworm") -> None:
        if client is None:
            import docker  # noqa: PLC0415  (lazy: only the Docker executor needs it)

            client = docker.from_env(timeout=60)
        self.client = client
        self.default_image = default_image
        self.emulator_id = ""
        self.containers: dict[str, Any] = {}
        self.specs: dict[str, TaskSpec] = {}
        self.volumes: set[str] = set()

    def bind(self, emulator_id: str) -> None:
        self.emulator_id = emulator_id

    def _command(self, app: Json) -> list[str] | None:
        if app.get("cmd"):
            return ["/bin/sh", "-c", str(app["cmd"])]
        if app.get("args"):
            return [str(a) for a in app["args"]]
        return None

    def _volume_name(self, app_id: str, container_path: str) -> str:
        """The Docker volume standing for the persistent volume ``container_path`` of
        ``app_id`` on this emulator's one agent."""
        safe = re.sub(r"[^a-zA-Z0-9_.-]", "_", f"{app_id.strip('/')}-{container_path}")
        return f"mesos-{self.emulator_id}-{safe}"

    def _volumes(self, spec: TaskSpec, labels: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """``container.volumes`` as Mesos mounts them. A persistent (local) volume is a
        Docker volume owned by the app: it survives its tasks, is kept while the app
        exists (scaled to 0 too) and is destroyed with the app (:meth:`release`). Mesos
        mounts it in the sandbox at its relative ``containerPath``; a host volume whose
        relative ``hostPath`` names it mounts it at an absolute path (the documented way
        to give a persistent volume an absolute path). Absolute host paths are bind
        mounts."""
        volumes = (spec.app.get("container") or {}).get("volumes", [])
        persistent: dict[str, str] = {}
        for volume in volumes:
            if volume.get("persistent") is not None and volume.get("containerPath"):
                path = str(volume["containerPath"])
                name = self._volume_name(spec.app_id, path)
                if name not in self.volumes:
                    self.client.volumes.create(
                        name=name,
                        labels={**labels, TASK_LABEL: "", "ciorch.marathon.volume": path},
                    )
                    self.volumes.add(name)
                persistent[path] = name
        out: dict[str, dict[str, str]] = {}
        aliased: set[str] = set()
        for volume in volumes:
            host, target = volume.get("hostPath"), volume.get("containerPath")
            if not host or not target:
                continue
            mode = str(volume.get("mode", "RW")).lower()
            if str(host) in persistent:
                out[persistent[str(host)]] = {"bind": str(target), "mode": mode}
                aliased.add(str(host))
            elif str(host).startswith("/"):
                out[str(host)] = {"bind": str(target), "mode": mode}
        for path, name in persistent.items():
            if path not in aliased:
                out[name] = {"bind": f"{SANDBOX}/{path}", "mode": "rw"}
        return out

    def launch(self, spec: TaskSpec) -> None:
        app = spec.app
        docker_part = (app.get("container") or {}).get("docker") or {}
        image = docker_part.get("image") or self.default_image
        labels = {str(k): str(v) for k, v in (app.get("labels") or {}).items()}
        labels.update(
            {
                EMULATOR_LABEL: self.emulator_id,
                APP_LABEL: spec.app_id,
            }
        )
        # Docker refuses more CPUs than the host has; Mesos would not offer them either.
        cpus = min(float(app.get("cpus", 1)), float(os.cpu_count() or 1))
        options = docker_options(docker_part.get("parameters") or [])
        labels.update(options.pop("labels", {}))
        environment = {**spec.env, **options.pop("env", {})}
        labels[TASK_LABEL] = spec.task_id
        try:
            volumes = self._volumes(spec, {k: v for k, v in labels.items() if k != TASK_LABEL})
            for name, bind in options.pop("named_volumes", {}).items():
                volumes[name] = bind
            kwargs: dict[str, Any] = {
                "command": self._command(app),
                "network_mode": "host",
                "environment": environment,
                "labels": labels,
                "nano_cpus": int(cpus * 1e9) if cpus > 0 else None,
                "mem_limit": f"{max(int(app.get('mem', 128)), 6)}m",
                "privileged": bool(docker_part.get("privileged", False)),
                "volumes": volumes or None,
                "name": "mesos-" + spec.task_id.replace("/", "_"),
                **options,
            }
            try:
                container = self.client.containers.create(image, **kwargs)
            except Exception as exc:
                if type(exc).__name__ != "ImageNotFound":
                    raise
                # forcePullImage false: Mesos pulls only an image the agent lacks.
                try:
                    self.client.images.pull(image)
                except Exception as pull:
                    raise LaunchError(
                        f"Failed to launch container: Failed to run 'docker pull {image}': {pull}"
                    ) from pull
                container = self.client.containers.create(image, **kwargs)
        except LaunchError:
            raise
        except Exception as exc:  # docker.errors.* (image missing, bad options)
            raise LaunchError(f"Failed to launch container: {exc}") from exc
        try:
            container.start()
        except Exception as exc:  # the entrypoint cannot run: nothing is left behind
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
            raise LaunchError(f"Failed to launch container: {exc}") from exc
        self.containers[spec.task_id] = container
        self.specs[spec.task_id] = spec

    def release(self, app_id: str) -> None:
        """The app is gone: destroy its persistent volumes (Marathon destroys the
        volumes and unreserves the resources of a deleted resident app)."""
        prefix = self._volume_name(app_id, "")
        for name in [n for n in self.volumes if n.startswith(prefix)]:
            with contextlib.suppress(Exception):  # already gone
                self.client.volumes.get(name).remove(force=True)
            self.volumes.discard(name)

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
        try:
            volumes = self.client.volumes.list(
                filters={"label": f"{EMULATOR_LABEL}={self.emulator_id}"}
            )
        except Exception:
            volumes = []
        for volume in volumes:
            with contextlib.suppress(Exception):
                volume.remove(force=True)
        self.containers.clear()
        self.specs.clear()
        self.volumes.clear()
