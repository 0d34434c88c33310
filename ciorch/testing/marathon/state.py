"""The emulator's state and the operations behind the REST API.

Every operation runs under one lock and returns at once: changes create a
:class:`~.deployments.Deployment` and the reconcile loop (``reconcile.py``) does the work
later, as Marathon does.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from . import apps as appdefs
from .apps import ApiError
from .deployments import RESTART, SCALE, START, STOP, Deployment, locked_error_body
from .executors import TaskSpec
from .selectors import LabelSelector
from .tasks import KILLING, RUNNING, STAGING, AppRecord, Health, Task

__all__ = ["MarathonState", "is_resident", "too_many_deployments"]

Json = dict[str, Any]


def too_many_deployments(limit: int) -> str:
    """``TooManyRunningDeploymentsException``'s message, verbatim (its missing blank too)."""
    return (
        f"Max number ({limit}) of running deployments is achieved. Wait for existing "
        "deployments to complete or cancel oneusing force=true parameter. You can increase "
        "max deployment number by using --max_running_deployments parameter but be advised "
        "that this can have negative effects on the performance."
    )


def _app_missing(app_id: str) -> ApiError:
    return ApiError(404, {"message": f"App '{app_id}' does not exist"})


def is_resident(definition: Json) -> bool:
    """An app with local persistent volumes: its tasks keep their reservation (volume
    and host ports) across restarts and upgrades."""
    volumes = (definition.get("container") or {}).get("volumes") or []
    return any(v.get("persistent") is not None for v in volumes)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class MarathonState:
    def __init__(
        self,
        deployment_seconds: float,
        host_ports: tuple[int, int] = (31000, 32000),
        service_ports: tuple[int, int] = (10000, 20000),
        max_running_deployments: int = 100,
    ) -> None:
        self.lock = threading.RLock()
        self.max_running_deployments = max_running_deployments
        self.deployment_seconds = deployment_seconds
        self.host_ports = host_ports
        self.service_port_range = service_ports
        self.clock = appdefs.VersionClock()
        self.apps: dict[str, AppRecord] = {}
        self.tasks: dict[str, Task] = {}
        self.deployments: dict[str, Deployment] = {}
        self.agent_id = f"{uuid.uuid4()}-S0"
        self._seq = 0

    # ----------------------------------------------------------------- helpers

    def now(self) -> str:
        return appdefs.format_timestamp(dt.datetime.now(dt.UTC))

    def deployments_of(self, app_id: str) -> list[Deployment]:
        return [d for d in self.deployments.values() if d.app_id == app_id]

    def _check_lock(self, app_id: str, force: bool) -> None:
        """409 while a deployment touches the app; with force the deployments are
        cancelled (records dropped) and the new change goes ahead."""
        self._check_capacity(force)
        running = self.deployments_of(app_id)
        if not running:
            return
        if not force:
            raise ApiError(409, locked_error_body([d.id for d in running]))
        for deployment in running:
            del self.deployments[deployment.id]

    def _check_capacity(self, force: bool) -> None:
        """403 once ``--max_running_deployments`` (default 100) deployments run; a forced
        change still goes ahead (``TooManyRunningDeploymentsException``, mapped to 403 by
        ``MarathonExceptionMapper``; checked before the app lock: not confirmed)."""
        if not force and len(self.deployments) >= self.max_running_deployments:
            raise ApiError(403, {"message": too_many_deployments(self.max_running_deployments)})

    def _deploy(self, app_id: str, kind: str, original: Json | None, version: str) -> Deployment:
        record = self.apps.get(app_id)
        deployment = Deployment(
            app_id=app_id,
            kind=kind,
            version=version,
            original=original,
            config_version=record.config_version if record else None,
            started=time.monotonic(),
        )
        self.deployments[deployment.id] = deployment
        if record is not None:
            record.gave_up = False
        return deployment

    def _used_service_ports(self, skip: str | None = None) -> set[int]:
        used: set[int] = set()
        for record in self.apps.values():
            if record.app_id != skip:
                used.update(p.get("port", 0) for p in record.definition.get("portDefinitions", []))
        return used

    def _assign_service_ports(self, new: Json, old: Json | None) -> None:
        """Port 0 in portDefinitions gets a unique service port (kept across updates)."""
        old_ports = [p.get("port", 0) for p in (old or {}).get("portDefinitions", [])]
        used = self._used_service_ports(skip=new["id"])
        candidate = self.service_port_range[0]
        for index, definition in enumerate(new.get("portDefinitions", [])):
            if definition.get("port", 0) != 0:
                continue
            if index < len(old_ports) and old_ports[index] and old_ports[index] not in used:
                definition["port"] = old_ports[index]
                used.add(old_ports[index])
                continue
            while candidate in used:
                candidate += 1
            definition["port"] = candidate
            used.add(candidate)

    def _stamp(self, new: Json, old: Json | None) -> str:
        version = self.clock.next()
        scale_only = old is not None and appdefs.is_scale_only(old, new)
        config = old["versionInfo"]["lastConfigChangeAt"] if scale_only and old else version
        new["version"] = version
        new["versionInfo"] = {"lastScalingAt": version, "lastConfigChangeAt": config}
        return version

    def _accept(self, app_id: str, request: Json, old: AppRecord | None) -> tuple[AppRecord, str]:
        appdefs.validate_app(request)
        if not appdefs.valid_path_id(app_id):
            raise appdefs.not_valid(
                "/id",
                "must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*"
                "[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'",
            )
        definition = appdefs.normalise_app(request, app_id)
        old_def = old.definition if old else None
        self._assign_service_ports(definition, old_def)
        self._stamp(definition, old_def)
        kind = START
        if old is not None:
            kind = SCALE if appdefs.is_scale_only(old.definition, definition) else RESTART
        record = AppRecord(request=request, definition=definition)
        if old is not None:
            record.last_failure = old.last_failure
            record.extra = old.extra
            if kind == SCALE:
                record.failures, record.backoff_until = old.failures, old.backoff_until
        self.apps[app_id] = record
        return record, kind

    # --------------------------------------------------------------- app answers

    def counts(self, app_id: str) -> Json:
        tasks = [t for t in self.tasks.values() if t.app_id == app_id and t.state != KILLING]
        return {
            "tasksStaged": sum(t.state == STAGING for t in tasks),
            "tasksRunning": sum(t.state == RUNNING for t in tasks),
            "tasksHealthy": sum(t.state == RUNNING and t.is_healthy() for t in tasks),
            "tasksUnhealthy": sum(t.state == RUNNING and t.is_unhealthy() for t in tasks),
        }

    def app_answer(self, record: AppRecord, embed: set[str]) -> Json:
        out = dict(record.definition)
        if "counts" in embed:
            out.update(self.counts(record.app_id))
        if "deployments" in embed:
            out["deployments"] = [{"id": d.id} for d in self.deployments_of(record.app_id)]
        if "tasks" in embed:
            out["tasks"] = [t.answer(self.agent_id) for t in self.tasks_of(record.app_id)]
        if "readiness" in embed:
            out["readinessCheckResults"] = []
        if "lastTaskFailure" in embed and record.last_failure is not None:
            out["lastTaskFailure"] = record.last_failure
        return appdefs.filter_app_answer(out)

    def tasks_of(self, app_id: str) -> list[Task]:
        return sorted(
            (t for t in self.tasks.values() if t.app_id == app_id and t.state != KILLING),
            key=lambda t: t.seq,
        )

    # -------------------------------------------------------------- operations

    def list_apps(
        self, id_part: str | None, cmd: str | None, selector: LabelSelector | None, embed: set[str]
    ) -> Json:
        with self.lock:
            out = []
            for app_id in sorted(self.apps):
                record = self.apps[app_id]
                definition = record.definition
                if id_part and id_part.lower() not in app_id.lower():
                    continue
                if cmd and cmd not in str(definition.get("cmd") or ""):
                    continue
                if selector is not None and not selector.matches(definition.get("labels", {})):
                    continue
                out.append(self.app_answer(record, embed | {"counts", "deployments"}))
            return {"apps": out}

    def get_app(self, app_id: str, embed: set[str]) -> Json:
        with self.lock:
            record = self.apps.get(app_id)
            if record is None:
                raise _app_missing(app_id)
            every = {"counts", "deployments", "tasks", "lastTaskFailure"}
            return {"app": self.app_answer(record, embed | every)}

    def create_app(self, body: Any, force: bool) -> tuple[Json, Deployment]:
        with self.lock:
            appdefs.validate_app(body)
            assert isinstance(body, dict)
            app_id = appdefs.normalise_id(str(body["id"]))
            if app_id in self.apps:
                raise ApiError(409, {"message": f"An app with id [{app_id}] already exists."})
            self._check_lock(app_id, force)
            record, _ = self._accept(app_id, body, None)
            deployment = self._deploy(app_id, START, None, record.definition["version"])
            answer = self.app_answer(record, {"counts", "deployments"})
            return answer, deployment

    def put_app(self, app_id: str, body: Any, force: bool, partial: bool) -> tuple[int, Json]:
        with self.lock:
            if not isinstance(body, dict):
                appdefs.validate_app(body)
            assert isinstance(body, dict)
            old = self.apps.get(app_id)
            if old is None:
                self._check_lock(app_id, force)
                request = {**body, "id": app_id}
                record, _ = self._accept(app_id, request, None)
                deployment = self._deploy(app_id, START, None, record.definition["version"])
                return 201, deployment.result()
            request = appdefs.merge_update(old.request, body, partial)
            request["id"] = app_id
            appdefs.validate_app(request)
            self._check_lock(app_id, force)
            original = old.request
            record, kind = self._accept(app_id, request, old)
            deployment = self._deploy(app_id, kind, original, record.definition["version"])
            return 200, deployment.result()

    def restart_app(self, app_id: str, force: bool) -> Deployment:
        """POST /v2/apps/{id}/restart: a new config version, every task replaced."""
        with self.lock:
            record = self.apps.get(app_id)
            if record is None:
                raise _app_missing(app_id)
            self._check_lock(app_id, force)
            version = self.clock.next()
            record.definition["version"] = version
            record.definition["versionInfo"] = {
                "lastScalingAt": version,
                "lastConfigChangeAt": version,
            }
            record.failures, record.backoff_until = 0, 0.0
            return self._deploy(app_id, RESTART, record.request, version)

    def queue(self) -> Json:
        """GET /v2/queue: apps with tasks still to launch, and their launch delay."""
        with self.lock:
            now = time.monotonic()
            items = []
            for app_id in sorted(self.apps):
                record = self.apps[app_id]
                current = [
                    t for t in self.tasks_of(app_id) if t.config_version == record.config_version
                ]
                missing = record.instances - len(current)
                if missing <= 0:
                    continue
                left = max(record.backoff_until - now, 0.0)
                items.append(
                    {
                        "app": self.app_answer(record, set()),
                        "count": missing,
                        "delay": {"timeLeftSeconds": round(left), "overdue": left <= 0},
                        "since": record.definition["version"],
                    }
                )
            return {"queue": items}

    def reset_delay(self, app_id: str) -> None:
        with self.lock:
            record = self.apps.get(app_id)
            if record is None:
                raise _app_missing(app_id)
            record.failures, record.backoff_until = 0, 0.0

    def delete_app(self, app_id: str, force: bool) -> Deployment:
        with self.lock:
            record = self.apps.get(app_id)
            if record is None:
                raise _app_missing(app_id)
            self._check_lock(app_id, force)
            return self._remove_app(record)

    def _remove_app(self, record: AppRecord) -> Deployment:
        app_id = record.app_id
        del self.apps[app_id]
        for task in self.tasks.values():
            if task.app_id == app_id:
                task.state = KILLING
        return self._deploy(app_id, STOP, record.request, self.clock.next())

    def _scale_by(self, app_id: str, delta: int, force: bool) -> Deployment:
        record = self.apps[app_id]
        self._check_lock(app_id, force)
        request = {**record.request, "instances": max(record.instances + delta, 0)}
        new, kind = self._accept(app_id, request, record)
        return self._deploy(app_id, kind, record.request, new.definition["version"])

    def list_tasks(self, app_id: str | None, states: set[str] | None = None) -> Json:
        with self.lock:
            if app_id is not None:
                if app_id not in self.apps:
                    raise _app_missing(app_id)
                tasks = self.tasks_of(app_id)
            else:
                tasks = sorted(self.tasks.values(), key=lambda t: t.seq)
            if states:
                tasks = [t for t in tasks if t.state in states]
            return {"tasks": [t.answer(self.agent_id) for t in tasks]}

    def _kill(self, tasks: Iterable[Task], reason: str = "killed by request") -> list[Json]:
        answers = []
        for task in tasks:
            answers.append(task.answer(self.agent_id))
            task.state = KILLING
            task.kill_reason = reason
        return answers

    def kill_task(self, app_id: str, task_id: str, scale: bool, force: bool) -> Json:
        with self.lock:
            if app_id not in self.apps:
                raise _app_missing(app_id)
            task = self.tasks.get(task_id)
            if task is None or task.app_id != app_id or task.state == KILLING:
                # Not confirmed: text chosen after Marathon's UnknownTaskException.
                raise ApiError(404, {"message": f"Task '{task_id}' does not exist"})
            if scale:
                self._check_lock(app_id, force)
                self._kill([task])
                return self._scale_by(app_id, -1, True).result()
            return {"task": self._kill([task])[0]}

    def kill_app_tasks(self, app_id: str, scale: bool, force: bool, host: str | None) -> Json:
        with self.lock:
            if app_id not in self.apps:
                raise _app_missing(app_id)
            tasks = [t for t in self.tasks_of(app_id) if host in (None, "", "127.0.0.1")]
            if scale:
                self._check_lock(app_id, force)
                self._kill(tasks)
                return self._scale_by(app_id, -len(tasks), True).result()
            return {"tasks": self._kill(tasks)}

    def kill_given(self, ids: list[str], scale: bool, force: bool) -> Json:
        with self.lock:
            tasks = [self.tasks[i] for i in ids if i in self.tasks]
            tasks = [t for t in tasks if t.state != KILLING]
            by_app: dict[str, list[Task]] = {}
            for task in tasks:
                by_app.setdefault(task.app_id, []).append(task)
            if not scale:
                return {"tasks": self._kill(tasks)}
            for app_id in by_app:
                if app_id in self.apps:
                    self._check_lock(app_id, force)
            result: Json = {}
            for app_id, doomed in by_app.items():
                self._kill(doomed)
                if app_id in self.apps:
                    result = self._scale_by(app_id, -len(doomed), True).result()
            return result or {"version": self.clock.next(), "deploymentId": str(uuid.uuid4())}

    def list_deployments(self) -> list[Json]:
        with self.lock:
            ordered = sorted(self.deployments.values(), key=lambda d: d.version)
            return [d.answer() for d in ordered]

    def delete_deployment(self, deployment_id: str, force: bool) -> tuple[int, Json | None]:
        """force: drop the record (202, empty). Else roll back: a new deployment that
        restores the definition from before the change (200 with its id)."""
        with self.lock:
            if deployment_id in self.deployments and not force:
                self._check_capacity(force)  # the rollback is a deployment of its own
            deployment = self.deployments.pop(deployment_id, None)
            if deployment is None:
                raise ApiError(404, {"message": f"DeploymentPlan {deployment_id} does not exist"})
            if force:
                return 202, None
            app_id = deployment.app_id
            current = self.apps.get(app_id)
            if deployment.original is None:
                if current is None:
                    return 200, {"version": self.clock.next(), "deploymentId": str(uuid.uuid4())}
                return 200, self._remove_app(current).result()
            record, kind = self._accept(app_id, dict(deployment.original), current)
            kind = START if current is None else kind
            return 200, self._deploy(app_id, kind, None, record.definition["version"]).result()

    # ------------------------------------------------------------------ launch

    def new_task(self, record: AppRecord, now_mono: float) -> Task | None:
        """A staged task for ``record`` (None when no host port is free)."""
        definition = record.definition
        port_defs = definition.get("portDefinitions", [])
        used = {p for t in self.tasks.values() for p in t.ports}
        reserved = [int(p) for p in record.extra.get("reserved_ports", [])]
        if definition.get("requirePorts"):
            ports = [int(p["port"]) for p in port_defs]
        elif reserved and len(reserved) == len(port_defs) and not set(reserved) & used:
            ports = reserved  # a resident task's reserved ports
        else:
            ports = []
            for candidate in range(*self.host_ports):
                if len(ports) == len(port_defs):
                    break
                if candidate not in used and _port_free(candidate):
                    ports.append(candidate)
            if len(ports) < len(port_defs):
                return None
        if is_resident(definition):
            record.extra["reserved_ports"] = list(ports)
        self._seq += 1
        name = record.app_id.strip("/").replace("/", "_")
        task_id = f"{name}.{uuid.uuid4()}"
        env = {k: v for k, v in definition.get("env", {}).items() if isinstance(v, str)}
        env.update(
            {
                "MARATHON_APP_ID": record.app_id,
                "MARATHON_APP_VERSION": str(definition["version"]),
                "MESOS_TASK_ID": task_id,
                "HOST": "127.0.0.1",
                "PORTS": ",".join(str(p) for p in ports),
            }
        )
        for index, port in enumerate(ports):
            env[f"PORT{index}"] = str(port)
        if ports:
            env["PORT"] = str(ports[0])
        spec = TaskSpec(
            task_id=task_id,
            app_id=record.app_id,
            version=str(definition["version"]),
            app=definition,
            ports=tuple(ports),
            env=env,
        )
        task = Task(
            id=task_id,
            app_id=record.app_id,
            version=str(definition["version"]),
            config_version=record.config_version,
            spec=spec,
            staged_at=self.now(),
            staged_mono=now_mono,
            service_ports=[int(p.get("port", 0)) for p in port_defs],
            health=[Health() for _ in definition.get("healthChecks", [])],
            seq=self._seq,
        )
        self.tasks[task_id] = task
        return task

    def reset(self) -> None:
        """Forget every app and deployment (a Marathon restarted on an empty store);
        tasks are marked for killing."""
        with self.lock:
            self.apps.clear()
            self.deployments.clear()
            for task in self.tasks.values():
                task.state = KILLING
