"""Runtime on Marathon (a Mesos cluster), through the ``marathon`` 0.13.0 client.

Every service and every one-off agent is one Marathon app, ``<prefix>/<team>/<name>``:
``/ciorch/<team>/master``, ``/ciorch/<team>/pool-<label>``, ``/ciorch/<team>/agent-<node>``.
Apps use host networking, carry ciorch's labels (server-side label selectors find what
this ciorch owns after a restart), get cpus/mem from the template and the limits
Marathon has no field for as ``docker run`` flags in ``container.docker.parameters``
(Mesos' Docker containerizer passes each one on): ``pids-limit``, ``cap-drop=ALL``,
``security-opt=no-new-privileges``, ``read-only``/``tmpfs``, ``user``, ``entrypoint``
and a ``label`` per ciorch label, so the container itself carries them.

Choices, and why:

* **JENKINS_HOME is a local persistent volume** (``container.volumes[].persistent`` with
  ``residency``), not a Docker named volume passed as a ``volume=`` parameter. A named
  volume lives on whichever agent ran the task: a master rescheduled elsewhere would
  start on an empty JENKINS_HOME, and Marathon could never remove it (``purge_volume``
  would be a lie). A persistent volume reserves the disk (and the task's cpus, mem and
  ports) on one agent, pins the master there, survives restarts, upgrades and scaling to
  zero, and is destroyed with the app. Marathon wants a single-level relative
  ``containerPath`` for it, so a second (host) volume maps it to the absolute mount
  path, as Marathon's documentation shows; a resident app must upgrade with
  ``maximumOverCapacity`` 0, so the old master stops before the new one starts on the
  same volume. ``delete_service`` therefore *suspends* a service with a volume (scales
  it to 0 and marks it retired, the volume stays) unless ``purge_volume`` is set, and a
  retired service reads as absent; ``ensure_service`` brings it back on its volume.
* **A one-off's ``Instance.id`` is its app id**, not a task id: it exists as soon as
  ``run_oneoff`` returns (the task comes later), stays the same when Marathon relaunches
  a crashed agent, and is what ``stop_oneoff`` deletes. Service instances are tasks:
  their ids are task ids (``remove_instance`` takes one).
* **Nothing waits** for a deployment: changes return at once. Only a 409 (the app is
  locked by a deployment) is waited out, up to ``deployment_timeout`` seconds on the
  injected clock, then retried; ``force=true`` is used only where a running deployment
  has nothing worth keeping (each use says why). ``wait_oneoff`` waits for a one-off to
  run and reports Marathon's ``lastTaskFailure`` when it cannot start (a missing image
  never fails a Marathon call: the task fails on the agent).
* **``ensure_service`` sends the whole definition**, exactly as built here (scaling
  sends only ``instances``). PUT is a partial update (Marathon merges the top-level
  fields it is given) and the client's minimal JSON encoding drops empty lists, which
  would keep an old value that should be cleared: so every field that can be emptied
  is sent, empty, and ``env`` always carries ``CIORCH_SERVICE_ID``. Every definition
  built here validates against Marathon's ``AppDefinition.json`` (tested per kind).
"""

from __future__ import annotations

__all__ = ["MarathonRuntime", "app_definition", "oneoff_definition"]

import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import marathon.exceptions
import requests
from marathon.models.app import MarathonApp

from ciorch.adapters import marathon_compat
from ciorch.errors import CiorchError, NotFoundError, PermanentError, TemporaryError
from ciorch.model.runtime import (
    LABEL_DIGEST,
    LABEL_KIND,
    LABEL_OWNER,
    LABEL_SERVICE,
    LABEL_TEAM,
    ContainerSpec,
    Instance,
    InstanceState,
    Service,
    ServiceSpec,
    VolumeSpec,
    WorkloadKind,
    runtime_labels,
    spec_digest,
)

T = TypeVar("T")
Json = dict[str, Any]

LABEL_RETIRED = "ciorch.retired"  # a deleted service whose volume is kept (instances 0)
_TMPFS = "rw,exec,nosuid,mode=1777"
# A crashing one-off agent is relaunched after a minute at the earliest, not in a tight
# loop: the engine sees it FAILED and replaces it with a fresh node.
_ONEOFF_BACKOFF = {"backoffSeconds": 60, "backoffFactor": 2.0, "maxLaunchDelaySeconds": 3600}
_SERVICE_BACKOFF = {"backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300}
_STATES = {
    "TASK_STAGING": InstanceState.STARTING,
    "TASK_STARTING": InstanceState.STARTING,
    "TASK_RUNNING": InstanceState.RUNNING,
    "TASK_FINISHED": InstanceState.EXITED,
}


# ---------------------------------------------------------------- definitions (pure)


def _docker(spec: ContainerSpec, labels: Mapping[str, str]) -> tuple[Json, list[str]]:
    """``container.docker`` and the app's ``args``. The limits Marathon has no field for
    are ``docker run`` flags; ``--entrypoint`` takes one word, so the rest of an
    overriding entrypoint goes before the args."""
    params: list[tuple[str, str]] = []
    if spec.resources.pids_limit is not None:
        params.append(("pids-limit", str(spec.resources.pids_limit)))
    params += [("cap-drop", "ALL"), ("security-opt", "no-new-privileges")]
    if spec.read_only_root:
        params += [("read-only", "true"), ("tmpfs", f"/tmp:{_TMPFS},size=512m")]
        if spec.work_dir:
            # writable by whichever user the image or template runs as
            params.append(("tmpfs", f"{spec.work_dir}:{_TMPFS},size=4g"))
    elif spec.work_dir:
        params.append(("workdir", spec.work_dir))
    if spec.user:
        params.append(("user", spec.user))
    args = list(spec.args)
    if spec.entrypoint is not None:
        head, *rest = spec.entrypoint or ("",)
        params.append(("entrypoint", head))
        args = [*rest, *args]
    params += [("label", f"{k}={v}") for k, v in sorted(labels.items())]
    docker: Json = {
        "image": spec.image,
        "forcePullImage": False,
        "privileged": False,
        "parameters": [{"key": k, "value": v} for k, v in params],
    }
    return docker, args


def _base(app_id: str, spec: ContainerSpec, owner: str, instances: int) -> Json:
    labels = runtime_labels(spec, owner)
    docker, args = _docker(spec, labels)
    env = {**spec.env, "CIORCH_SERVICE_ID": app_id}
    if spec.work_dir:
        env["CIORCH_WORK_DIR"] = spec.work_dir
    definition: Json = {
        "id": app_id,
        "instances": instances,
        "cpus": spec.resources.cpus,
        "mem": spec.resources.mem_mib,
        "disk": 0,
        "container": {"type": "DOCKER", "docker": docker, "volumes": []},
        "networks": [{"mode": "host"}],
        "labels": labels,
        "env": env,
        "portDefinitions": [],
        "healthChecks": [],
        "constraints": [],
        "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
    }
    if args:
        definition["args"] = args
    return definition


def app_definition(
    app_id: str,
    spec: ServiceSpec,
    *,
    owner: str,
    constraints: tuple[tuple[str, ...], ...] = (),
) -> Json:
    """The Marathon app definition of a service (pure; what is sent, as is)."""
    c = spec.container
    definition = _base(app_id, c, owner, spec.instances)
    definition["labels"][LABEL_DIGEST] = spec_digest(spec)
    definition.update(_SERVICE_BACKOFF)
    definition["constraints"] = [list(x) for x in (*constraints, *spec.constraints)]
    if spec.port:
        definition["portDefinitions"] = [{"port": 0, "protocol": "tcp", "name": "http"}]
    if spec.health is not None:
        h = spec.health
        definition["healthChecks"] = [
            {
                "protocol": "MESOS_HTTP",
                "path": h.path,
                "portIndex": 0,
                "gracePeriodSeconds": math.ceil(h.grace_seconds),
                "intervalSeconds": max(math.ceil(h.interval_seconds), 1),
                "timeoutSeconds": max(math.ceil(h.timeout_seconds), 1),
                "maxConsecutiveFailures": h.max_failures,
            }
        ]
    if spec.volume is not None:
        v = spec.volume
        # A local persistent volume needs a single-level relative containerPath; the
        # host volume maps it to the absolute path (see the module docstring).
        definition["container"]["volumes"] = [
            {
                "containerPath": v.name,
                "mode": "RW",
                "persistent": {"type": "root", "size": v.size_mib},
            },
            {"containerPath": v.mount_path, "hostPath": v.name, "mode": "RW"},
        ]
        definition["residency"] = {
            "relaunchEscalationTimeoutSeconds": 3600,
            "taskLostBehavior": "WAIT_FOREVER",
        }
        definition["upgradeStrategy"] = {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}
    return definition


def oneoff_definition(
    app_id: str,
    spec: ContainerSpec,
    *,
    owner: str,
    constraints: tuple[tuple[str, ...], ...] = (),
) -> Json:
    """The Marathon app definition of a one-off agent: one instance, a long backoff."""
    definition = _base(app_id, spec, owner, 1)
    definition.update(_ONEOFF_BACKOFF)
    definition["constraints"] = [list(x) for x in constraints]
    return definition


def _selector(wanted: Mapping[str, str]) -> str:
    def escape(text: str) -> str:
        return "".join(f"\\{ch}" if ch in "!=,() \\" else ch for ch in text)

    return ",".join(f"{escape(k)}=={escape(v)}" for k, v in sorted(wanted.items()))


class _Definition(MarathonApp):  # type: ignore[misc]
    """A ``MarathonApp`` that serialises to exactly the definition it was given."""

    def __init__(self, definition: Json) -> None:
        super().__init__()
        self.definition = definition

    def to_json(self, minimal: bool = True) -> str:
        return json.dumps(self.definition, sort_keys=True)


# ---------------------------------------------------------------- the runtime


class MarathonRuntime:
    """Runs ciorch's services and one-off agents as Marathon apps."""

    kind = "marathon"

    def __init__(
        self,
        url: str | list[str],
        *,
        owner: str = "ciorch",
        username: str | None = None,
        password: str | None = None,
        app_prefix: str = "/ciorch",
        constraints: tuple[tuple[str, ...], ...] = (),
        deployment_timeout: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = marathon_compat.DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url
        self.owner = owner
        self.prefix = "/" + app_prefix.strip("/")
        self.constraints = constraints
        self.deployment_timeout = deployment_timeout
        self._clock = clock
        self._sleep = sleep
        self._where = url if isinstance(url, str) else ",".join(url)
        self._client: Any = marathon_compat.client(
            url, username=username, password=password, timeout=timeout
        )
        # The client logs every non-2xx answer (a 404 on a lookup, a 409 being waited out)
        # at ERROR; this adapter translates and reports them itself.
        logging.getLogger("marathon").setLevel(logging.CRITICAL)

    def close(self) -> None:
        self._client.session.close()

    # ------------------------------------------------------------ errors

    @contextmanager
    def _translate(self, where: str) -> Iterator[None]:
        """Marathon client and transport errors become ciorch's, cause chained."""
        try:
            yield
        except CiorchError:
            raise
        except marathon.exceptions.NotFoundError as exc:
            raise NotFoundError(f"not found: {exc.error_message}", where=where) from exc
        except marathon.exceptions.ConflictError as exc:
            # Two 409s: "An app with id [...] already exists." (creating what exists:
            # retrying will not help) and "App is locked by one or more deployments"
            # (it will, once the deployment ends: see _unlocked).
            if "already exists" in str(exc.error_message):
                raise PermanentError(f"conflict: {exc.error_message}", where=where) from exc
            raise TemporaryError(
                f"Marathon refused the change (409): {exc.error_message}", where=where
            ) from exc
        except marathon.exceptions.InternalServerError as exc:
            raise TemporaryError(
                f"Marathon error (HTTP {exc.status_code}): {exc.error_message}", where=where
            ) from exc
        except marathon.exceptions.MarathonHttpError as exc:
            details = getattr(exc, "error_details", None)
            if exc.status_code == 422:
                raise PermanentError(
                    f"Marathon rejected {where}: {_details(details, exc.error_message)}",
                    where=self._where,
                ) from exc
            if exc.status_code in (401, 403):
                raise PermanentError(
                    f"Marathon refused the credentials (HTTP {exc.status_code}): "
                    f"{exc.error_message}",
                    where=self._where,
                ) from exc
            raise PermanentError(
                f"Marathon refused the request (HTTP {exc.status_code}): {exc.error_message}",
                where=where,
            ) from exc
        except (marathon.exceptions.MarathonError, requests.RequestException) as exc:
            raise TemporaryError(
                f"Marathon does not answer ({type(exc).__name__}: {exc})", where=self._where
            ) from exc

    def _unlocked(self, where: str, call: Callable[[], T]) -> T:
        """``call``, retried while Marathon answers 409 (the app is locked by a
        deployment), up to ``deployment_timeout`` seconds; then TemporaryError."""
        deadline = self._clock() + self.deployment_timeout
        delay = 0.1
        while True:
            try:
                with self._translate(where):
                    return call()
            except TemporaryError as exc:
                conflict = isinstance(exc.__cause__, marathon.exceptions.ConflictError)
                remaining = deadline - self._clock()
                if not conflict:
                    raise
                if remaining <= 0:
                    raise TemporaryError(
                        f"still locked by a deployment after {self.deployment_timeout:.0f} s "
                        f"({exc.message})",
                        where=where,
                        delay=5.0,
                    ) from exc.__cause__
                self._sleep(min(delay, remaining))
                delay = min(delay * 2, 2.0)

    # ------------------------------------------------------------ naming

    def service_id(self, team: str, name: str) -> str:
        return f"{self.prefix}/{team}/{name}"

    # ------------------------------------------------------------ reading apps

    def _get_app(self, app_id: str) -> Any | None:
        try:
            with self._translate(app_id):
                return self._client.get_app(
                    app_id,
                    embed_tasks=True,
                    embed_deployments=True,
                    embed_last_task_failure=True,
                )
        except NotFoundError:
            return None

    def _apps(self, selector: Mapping[str, str] | None) -> list[Any]:
        wanted = {**(selector or {}), LABEL_OWNER: self.owner}
        with self._translate(self._where):
            apps: list[Any] = self._client.list_apps(
                label=_selector(wanted),
                embed_tasks=True,
                embed_deployments=True,
                embed_last_task_failure=True,
            )
        return apps

    def _task_instance(self, app: Any, task: Any, service: str | None) -> Instance:
        state = _STATES.get(str(task.state), InstanceState.FAILED)
        if state is InstanceState.RUNNING and task.health_check_results:
            alive = [r.alive for r in task.health_check_results]
            if any(a is False for a in alive):
                state = InstanceState.UNHEALTHY
            elif alive and all(alive):
                state = InstanceState.HEALTHY
        started = task.started_at or task.staged_at
        return Instance(
            id=str(task.id),
            name=str(task.id),
            service=service,
            state=state,
            labels=dict(app.labels or {}),
            image=_image(app),
            host=str(task.host or "127.0.0.1"),
            ports=tuple(int(p) for p in task.ports or ()),
            started_at=started.timestamp() if started is not None else None,
            exit_code=0 if state is InstanceState.EXITED else None,
        )

    def _oneoff_instance(self, app: Any) -> Instance:
        """A one-off is its app: its task's state, STARTING before the task exists,
        FAILED when its last task failed and none runs (Marathon waits out the
        backoff before the next launch)."""
        tasks = list(app.tasks or [])
        started: float | None = None
        if tasks:
            first = self._task_instance(app, tasks[0], None)
            state, ports, host, started = first.state, first.ports, first.host, first.started_at
        else:
            state = InstanceState.FAILED if app.last_task_failure else InstanceState.STARTING
            ports, host = (), "127.0.0.1"
        return Instance(
            id=str(app.id),
            name=str(app.id),
            service=None,
            state=state,
            labels=dict(app.labels or {}),
            image=_image(app),
            host=host,
            ports=ports,
            started_at=started,
        )

    def _service(self, app: Any, exclude: str | None = None) -> Service:
        labels = dict(app.labels or {})
        tasks = tuple(
            self._task_instance(app, t, str(app.id)) for t in app.tasks or [] if t.id != exclude
        )
        ports = [t.ports[0] for t in tasks if t.ports and t.alive]
        return Service(
            id=str(app.id),
            team=labels.get(LABEL_TEAM, ""),
            name=labels.get(LABEL_SERVICE, ""),
            kind=WorkloadKind(labels.get(LABEL_KIND, "pool")),
            image=_image(app),
            instances=int(app.instances or 0),
            tasks=tasks,
            deploying=bool(app.deployments),
            port=ports[0] if ports else None,
            labels=labels,
        )

    @staticmethod
    def _is_service(app: Any) -> bool:
        labels = app.labels or {}
        return bool(
            labels.get(LABEL_KIND) != WorkloadKind.AGENT and labels.get(LABEL_RETIRED) != "true"
        )

    # ------------------------------------------------------------ services

    def _put(self, app_id: str, definition: Json, *, force: bool = False) -> None:
        """Create the app or change it (the whole definition: see the module
        docstring); a 409 while it deploys is waited out, unless ``force`` replaces the
        running deployment (a rollback of one that will never finish)."""

        def call() -> None:
            existing = self._get_app(app_id)
            if existing is None:
                try:
                    with self._translate(app_id):
                        self._client.create_app(app_id, _Definition(definition))
                    return
                except PermanentError as exc:
                    if not isinstance(exc.__cause__, marathon.exceptions.ConflictError):
                        raise
                    # created meanwhile by another process: update it instead
            self._client.update_app(app_id, _Definition(definition), force=force)

        self._unlocked(app_id, call)

    def ensure_service(self, spec: ServiceSpec, *, force: bool = False) -> Service:
        c = spec.container
        sid = self.service_id(c.team, c.name)
        definition = app_definition(sid, spec, owner=self.owner, constraints=self.constraints)
        self._put(sid, definition, force=force)
        app = self._get_app(sid)
        if app is None:  # deleted in between by someone else
            raise TemporaryError("the app vanished right after it was written", where=sid)
        return self._service(app)

    def scale_service(self, service_id: str, instances: int) -> Service:
        if instances < 0:
            raise PermanentError(f"instances must be >= 0, not {instances}", where=service_id)
        app = self._get_app(service_id)
        if app is None or not self._is_service(app):
            raise NotFoundError("no such service", where=service_id)
        self._unlocked(
            service_id,
            lambda: self._client.update_app(
                service_id, _Definition({"instances": instances}), force=False
            ),
        )
        after = self._get_app(service_id)
        if after is None:
            raise NotFoundError("no such service", where=service_id)
        return self._service(after)

    def remove_instance(self, service_id: str, instance_id: str) -> Service:
        app = self._get_app(service_id)
        if app is None or not self._is_service(app):
            raise NotFoundError("no such service", where=service_id)
        if instance_id not in {str(t.id) for t in app.tasks or []}:
            raise NotFoundError(f"instance {instance_id} is not part of it", where=service_id)
        with self._translate(service_id):
            # force: safe here. The kill names the exact task and scale lowers the
            # instance count by one from the target of any running deployment, which
            # Marathon carries over; waiting instead could let that deployment (a
            # scale-up, say) finish first and would not change which task dies.
            self._client.kill_given_tasks([instance_id], scale=True, force=True)
        after = self._get_app(service_id)
        if after is None:
            raise NotFoundError("no such service", where=service_id)
        # Marathon may list the task until the agent reports it killed.
        return self._service(after, exclude=instance_id)

    def get_service(self, service_id: str) -> Service | None:
        app = self._get_app(service_id)
        if app is None or not self._is_service(app):
            return None
        return self._service(app)

    def list_services(self, selector: Mapping[str, str] | None = None) -> list[Service]:
        apps = [a for a in self._apps(selector) if self._is_service(a)]
        return [self._service(a) for a in sorted(apps, key=lambda a: str(a.id))]

    def delete_service(self, service_id: str, *, purge_volume: bool = False) -> None:
        app = self._get_app(service_id)
        if app is None:
            return
        resident = bool(getattr(app, "residency", None))
        if resident and not purge_volume:
            # Keep the volume: scale to 0 and mark retired (the reservation and its
            # volume stay with the app). force: the service is being stopped, so a
            # running deployment (an upgrade, or a master that never got healthy) has
            # nothing worth finishing; the new definition supersedes it.
            definition = {
                "instances": 0,
                "labels": {**dict(app.labels or {}), LABEL_RETIRED: "true"},
            }
            with self._translate(service_id):
                self._client.update_app(service_id, _Definition(definition), force=True)
            return
        try:
            with self._translate(service_id):
                # force: deleting cancels whatever deployment runs; nothing it was
                # heading for matters once the app is gone (with purge_volume Marathon
                # destroys the persistent volume too).
                self._client.delete_app(service_id, force=True)
        except NotFoundError:
            pass

    # ------------------------------------------------------------ one-off agents

    def run_oneoff(self, spec: ContainerSpec) -> Instance:
        """Create the one-off's app and return at once; ``Instance.id`` is the app id
        (see the module docstring). Use :meth:`wait_oneoff` to wait for it to run."""
        app_id = self.service_id(spec.team, spec.name)
        definition = oneoff_definition(app_id, spec, owner=self.owner, constraints=self.constraints)
        # A 409 here is a lock only while an app of the same id is being deleted.
        self._unlocked(app_id, lambda: self._client.create_app(app_id, _Definition(definition)))
        return Instance(
            id=app_id,
            name=app_id,
            service=None,
            state=InstanceState.STARTING,
            labels=definition["labels"],
            image=spec.image,
            started_at=time.time(),
        )

    def wait_oneoff(self, instance_id: str, timeout: float, interval: float = 0.2) -> Instance:
        """Wait until the one-off runs. TemporaryError with Marathon's
        ``lastTaskFailure`` message when its task failed (a missing image, an
        entrypoint that cannot run: Marathon keeps relaunching it after the backoff),
        or when ``timeout`` seconds pass; NotFoundError when it is gone."""
        deadline = self._clock() + timeout
        while True:
            app = self._get_app(instance_id)
            if app is None:
                raise NotFoundError("no such one-off agent", where=instance_id)
            instance = self._oneoff_instance(app)
            failure = app.last_task_failure
            if instance.state is not InstanceState.STARTING and instance.alive:
                return instance
            if failure is not None:
                raise TemporaryError(
                    f"one-off agent is not running: {failure.message} ({failure.state})",
                    where=instance_id,
                )
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise TemporaryError(
                    f"one-off agent not running after {timeout:.0f} s", where=instance_id
                )
            self._sleep(min(interval, remaining))

    def stop_oneoff(self, instance_id: str) -> None:
        try:
            with self._translate(instance_id):
                # force: a throwaway agent; its own deployment (the launch) has nothing
                # worth finishing.
                self._client.delete_app(instance_id, force=True)
        except NotFoundError:
            pass

    def list_instances(self, selector: Mapping[str, str] | None = None) -> list[Instance]:
        out: list[Instance] = []
        for app in sorted(self._apps(selector), key=lambda a: str(a.id)):
            labels = app.labels or {}
            if labels.get(LABEL_KIND) == WorkloadKind.AGENT:
                out.append(self._oneoff_instance(app))
            else:
                out.extend(self._task_instance(app, t, str(app.id)) for t in app.tasks or [])
        return out

    def has_volume(self, service_id: str, volume: VolumeSpec) -> bool:
        """A resident app (retired or not) holds the service's persistent volume."""
        app = self._get_app(service_id)
        return app is not None and bool(getattr(app, "residency", None))

    def remove_volume(self, service_id: str, volume: VolumeSpec) -> None:
        """Deleting the resident app destroys its persistent volume."""
        if self.has_volume(service_id, volume):
            self.delete_service(service_id, purge_volume=True)


def _image(app: Any) -> str:
    container = getattr(app, "container", None)
    docker = getattr(container, "docker", None)
    return str(getattr(docker, "image", "") or "")


def _details(details: Any, message: str) -> str:
    """Marathon's 422 details as ``/path: error; /path: error``."""
    if isinstance(details, list) and details:
        parts = []
        for item in details:
            if isinstance(item, dict):
                errors = item.get("errors") or []
                text = ", ".join(str(e) for e in errors) if isinstance(errors, list) else errors
                parts.append(f"{item.get('path', '/')}: {text}")
        if parts:
            return "; ".join(parts)
    if isinstance(details, str) and details:
        return f"{message}: {details}"
    return message
