"""Runtime on the local Docker engine (the embedded default).

Every container uses host networking (``network_mode="host"``), carries ciorch's labels,
gets the template's cpu/memory/pids limits, drops all capabilities and cannot gain new
privileges. A service's instances are containers named ``<owner>-<team>-<name>-<i>``
(owner ``ciorch`` by default, so two installations can share one engine); its
spec rides along as a label, so a fresh process can scale it. The hot path (one-off
agents) makes exactly the calls the raw SDK would: create, start, remove."""

from __future__ import annotations

__all__ = ["DockerRuntime"]

import json
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, replace
from typing import Any

import docker
import docker.errors
import requests

from ciorch.errors import CiorchError, NotFoundError, PermanentError, TemporaryError
from ciorch.model.runtime import (
    LABEL_DIGEST,
    LABEL_INSTANCE,
    LABEL_KIND,
    LABEL_OWNER,
    LABEL_SERVICE,
    LABEL_TEAM,
    ContainerSpec,
    HealthCheck,
    Instance,
    InstanceState,
    Resources,
    Service,
    ServiceSpec,
    VolumeSpec,
    WorkloadKind,
    runtime_labels,
    spec_digest,
)

# JSON of the ServiceSpec, so any process can scale the service. Environment values are
# left out (they may hold secrets, and labels are shown by `docker ps`): scaling reads
# them back from a running instance.
LABEL_SPEC = "ciorch.spec"
LABEL_PORT = "ciorch.port"
LABEL_SERVICE_ID = "ciorch.service-id"
_EXITED = re.compile(r"^Exited \((-?\d+)\)")

Probe = Callable[[str, float], bool]


def http_probe(url: str, timeout: float) -> bool:
    """True when ``url`` answers 2xx or 3xx within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return bool(200 <= answer.status < 400)
    except urllib.error.HTTPError as exc:
        return 300 <= exc.code < 400
    except (OSError, ValueError):
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _spec_to_json(spec: ServiceSpec) -> str:
    return json.dumps(asdict(spec), sort_keys=True, separators=(",", ":"))


def _spec_from_json(text: str) -> ServiceSpec:
    data = json.loads(text)
    c = data["container"]
    container = ContainerSpec(
        team=c["team"],
        kind=WorkloadKind(c["kind"]),
        name=c["name"],
        image=c["image"],
        args=tuple(c["args"]),
        entrypoint=tuple(c["entrypoint"]) if c["entrypoint"] is not None else None,
        env=c["env"],
        resources=Resources(**c["resources"]),
        labels=c["labels"],
        user=c["user"],
        read_only_root=c["read_only_root"],
        work_dir=c["work_dir"],
        template=c["template"],
        node_name=c["node_name"],
    )
    return ServiceSpec(
        container=container,
        instances=data["instances"],
        volume=VolumeSpec(**data["volume"]) if data["volume"] else None,
        health=HealthCheck(**data["health"]) if data["health"] else None,
        port=data["port"],
        restart=data["restart"],
        constraints=tuple(tuple(c) for c in data["constraints"]),
    )


class DockerRuntime:
    """Runs ciorch's containers on one Docker engine."""

    kind = "docker"

    def __init__(
        self,
        *,
        owner: str = "ciorch",
        base_url: str | None = None,
        master_ports: tuple[int, int] = (18080, 18179),
        probe: Probe = http_probe,
        clock: Callable[[], float] = time.time,
        client: Any = None,
    ) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", owner):
            raise PermanentError(
                f"owner {owner!r} must be lower-case letters, digits and '-' (at most 31)",
                where="CIORCH_OWNER",
            )
        self.owner = owner
        self._where = base_url or "local Docker engine"
        self._ports = master_ports
        self._probe = probe
        self._clock = clock
        with self._translate(self._where):
            if client is None:
                client = (
                    docker.DockerClient(base_url=base_url, timeout=60)
                    if base_url
                    else docker.from_env(timeout=60)
                )
            self._client = client
            self._api = client.api

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------ errors

    @contextmanager
    def _translate(self, where: str, image: str | None = None) -> Iterator[None]:
        """Docker and transport errors become ciorch's, with the cause chained."""
        try:
            yield
        except CiorchError:
            raise
        except docker.errors.ImageNotFound as exc:
            raise PermanentError(
                f"image {image or '?'} does not exist on this engine "
                "(build it with `make images`, or pull it)",
                where=where,
            ) from exc
        except docker.errors.NotFound as exc:
            raise NotFoundError(f"not found: {exc.explanation or exc}", where=where) from exc
        except docker.errors.APIError as exc:
            status = exc.status_code or 0
            text = str(exc.explanation or exc)
            if status == 409:
                raise PermanentError(f"conflict: {text}", where=where) from exc
            if status >= 500:
                raise TemporaryError(f"Docker engine error: {text}", where=where) from exc
            raise PermanentError(f"Docker refused the request: {text}", where=where) from exc
        except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
            text = str(exc)
            reason = (
                "connection refused"
                if "refused" in text
                else "no such socket"
                if "No such file" in text
                else "timed out"
                if "timed out" in text.lower()
                else type(exc).__name__
            )
            raise TemporaryError(
                f"the Docker engine does not answer ({reason}); is dockerd running?",
                where=self._where,
            ) from exc

    # ------------------------------------------------------------ naming and labels

    def service_id(self, team: str, name: str) -> str:
        return f"{self.owner}-{team}-{name}"

    def volume_name(self, volume: VolumeSpec) -> str:
        """Named volumes are the owner's too: ``<owner>-<team>-jenkins-home``."""
        return f"{self.owner}-{volume.name}"

    def _filters(self, selector: Mapping[str, str] | None) -> dict[str, Any]:
        wanted = {LABEL_OWNER: self.owner, **(selector or {})}
        return {"label": [f"{k}={v}" for k, v in wanted.items()]}

    # ------------------------------------------------------------ containers

    def _create_and_start(
        self,
        spec: ContainerSpec,
        name: str,
        labels: Mapping[str, str],
        *,
        env: Mapping[str, str] | None = None,
        volume: VolumeSpec | None = None,
        restart: bool = False,
    ) -> str:
        res = spec.resources
        tmpfs: dict[str, str] = {}
        if spec.read_only_root:
            tmpfs = {"/tmp": "rw,exec,nosuid,mode=1777,size=512m"}
            if spec.work_dir:
                # writable by whichever user the image or template runs as
                tmpfs[spec.work_dir] = "rw,exec,nosuid,mode=1777,size=4g"
        host_config = self._api.create_host_config(
            network_mode="host",
            nano_cpus=int(res.cpus * 1e9),
            mem_limit=f"{res.mem_mib}m",
            pids_limit=res.pids_limit,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=spec.read_only_root or None,
            tmpfs=tmpfs or None,
            binds=(
                {self.volume_name(volume): {"bind": volume.mount_path, "mode": "rw"}}
                if volume
                else None
            ),
            restart_policy={"Name": "unless-stopped"} if restart else None,
        )
        with self._translate(name, spec.image):
            created = self._api.create_container(
                spec.image,
                command=list(spec.args) or None,
                entrypoint=list(spec.entrypoint) if spec.entrypoint is not None else None,
                name=name,
                environment={
                    **spec.env,
                    **({"CIORCH_WORK_DIR": spec.work_dir} if spec.work_dir else {}),
                    **(env or {}),
                },
                labels=dict(labels),
                host_config=host_config,
                user=spec.user or "",
                # Docker re-creates a working dir 0755 root over the tmpfs, which a
                # non-root user could not write: on a read-only root the work dir is
                # only named (CIORCH_WORK_DIR), not entered.
                working_dir=None if spec.read_only_root else spec.work_dir,
            )
        container_id: str = created["Id"]
        try:
            with self._translate(name, spec.image):
                self._api.start(container_id)
        except CiorchError:
            # Nothing left behind by a failed start.
            with suppress(Exception):
                self._api.remove_container(container_id, force=True, v=False)
            raise
        return container_id

    def _instance(self, raw: Mapping[str, Any], probe_health: bool = True) -> Instance:
        labels: dict[str, str] = dict(raw.get("Labels") or {})
        state_text = raw.get("State", "")
        status = raw.get("Status", "")
        exit_code: int | None = None
        if state_text == "running":
            state = InstanceState.RUNNING
            port = labels.get(LABEL_PORT)
            health = labels.get("ciorch.health.path")
            if probe_health and port and health is not None:
                grace = float(labels.get("ciorch.health.grace", "0"))
                timeout = float(labels.get("ciorch.health.timeout", "2"))
                healthy = self._probe(f"http://127.0.0.1:{port}{health}", timeout)
                if healthy:
                    state = InstanceState.HEALTHY
                elif self._clock() - float(raw.get("Created", 0)) > grace:
                    state = InstanceState.UNHEALTHY
        elif state_text in ("created", "restarting"):
            state = InstanceState.STARTING
        elif state_text == "exited":
            match = _EXITED.match(status)
            exit_code = int(match.group(1)) if match else None
            state = InstanceState.EXITED
        else:  # dead, removing, paused
            state = InstanceState.FAILED
        names = raw.get("Names") or ["/?"]
        service_name = labels.get(LABEL_SERVICE, "")
        team = labels.get(LABEL_TEAM, "")
        kind = labels.get(LABEL_KIND, "")
        port_label = labels.get(LABEL_PORT)
        return Instance(
            id=str(raw["Id"]),
            name=str(names[0]).lstrip("/"),
            service=None if kind == WorkloadKind.AGENT else self.service_id(team, service_name),
            state=state,
            labels=labels,
            image=str(raw.get("Image", "")),
            ports=(int(port_label),) if port_label else (),
            started_at=float(raw.get("Created", 0)),
            exit_code=exit_code,
        )

    def _containers(self, selector: Mapping[str, str] | None) -> list[dict[str, Any]]:
        with self._translate(self._where):
            found: list[dict[str, Any]] = self._api.containers(
                all=True, filters=self._filters(selector)
            )
        return found

    # ------------------------------------------------------------ one-off agents

    def run_oneoff(self, spec: ContainerSpec) -> Instance:
        name = self.service_id(spec.team, spec.name)
        labels = runtime_labels(spec, self.owner)
        container_id = self._create_and_start(spec, name, labels)
        return Instance(
            id=container_id,
            name=name,
            service=None,
            state=InstanceState.RUNNING,
            labels=labels,
            image=spec.image,
            started_at=self._clock(),
        )

    def stop_oneoff(self, instance_id: str) -> None:
        with suppress(NotFoundError), self._translate(instance_id):
            self._api.remove_container(instance_id, force=True, v=True)

    def list_instances(self, selector: Mapping[str, str] | None = None) -> list[Instance]:
        return [self._instance(raw, probe_health=False) for raw in self._containers(selector)]

    # ------------------------------------------------------------ services

    def _service_containers(self, service_id: str) -> list[dict[str, Any]]:
        return self._containers({LABEL_SERVICE_ID: service_id})

    def _allocate_port(self, taken: set[int]) -> int:
        with self._translate(self._where):  # every installation's masters, not only ours
            labelled = self._api.containers(all=True, filters={"label": LABEL_PORT})
        used = taken | {
            int(p) for raw in labelled if (p := (raw.get("Labels") or {}).get(LABEL_PORT))
        }
        low, high = self._ports
        for port in range(low, high + 1):
            if port not in used and _port_free(port):
                return port
        raise PermanentError(
            f"no free port in {low}-{high} on 127.0.0.1 for a master "
            "(widen runtime.docker.master_ports)",
            where=self._where,
        )

    def ensure_service(self, spec: ServiceSpec, *, force: bool = False) -> Service:
        # ``force`` has nothing to override here: Docker changes happen synchronously.
        c = spec.container
        sid = self.service_id(c.team, c.name)
        digest = spec_digest(spec)
        redacted = replace(c, env=dict.fromkeys(c.env, ""))
        spec_json = _spec_to_json(replace(spec, instances=0, container=redacted))
        existing = self._service_containers(sid)
        current = [r for r in existing if r["Labels"].get(LABEL_DIGEST) == digest]
        stale = [r for r in existing if r["Labels"].get(LABEL_DIGEST) != digest]
        if stale or len(current) < spec.instances:
            # Before anything is removed: an image that is not there must not take the
            # running instances down with it.
            with self._translate(sid, c.image):
                self._api.inspect_image(c.image)
        port: int | None = None
        if spec.port:
            known = [r["Labels"].get(LABEL_PORT) for r in existing if r["Labels"].get(LABEL_PORT)]
            port = int(known[0]) if known else None
        for raw in stale:  # a changed spec replaces its instances (the volume stays)
            with suppress(NotFoundError), self._translate(sid):
                self._api.remove_container(raw["Id"], force=True, v=False)
        if spec.port and port is None:
            port = self._allocate_port(set())
        indexes = sorted(int(r["Labels"].get(LABEL_INSTANCE, "0")) for r in current)
        surplus = len(current) - spec.instances
        if surplus > 0:  # the runtime picks: highest index first
            by_index = sorted(current, key=lambda r: -int(r["Labels"].get(LABEL_INSTANCE, "0")))
            for raw in by_index[:surplus]:
                with suppress(NotFoundError), self._translate(sid):
                    self._api.remove_container(raw["Id"], force=True, v=False)
        free = (i for i in range(10_000) if i not in indexes)
        for _ in range(max(0, spec.instances - len(current))):
            index = next(free)
            labels = runtime_labels(c, self.owner) | {
                LABEL_INSTANCE: str(index),
                LABEL_SERVICE_ID: sid,
                LABEL_SPEC: spec_json,
                LABEL_DIGEST: digest,
            }
            env: dict[str, str] = {}
            if port is not None:
                labels[LABEL_PORT] = str(port)
                env = {"PORT0": str(port), "PORT": str(port)}
            if spec.health is not None:
                labels["ciorch.health.path"] = spec.health.path
                labels["ciorch.health.grace"] = str(spec.health.grace_seconds)
                labels["ciorch.health.timeout"] = str(spec.health.timeout_seconds)
            self._create_and_start(
                c,
                f"{sid}-{index}",
                labels,
                env=env,
                volume=spec.volume,
                restart=spec.restart,
            )
        service = self.get_service(sid)
        if service is None:
            return Service(sid, c.team, c.name, c.kind, c.image, 0, ())
        return service

    def _stored_spec(self, service_id: str) -> ServiceSpec:
        existing = self._service_containers(service_id)
        if not existing:
            raise NotFoundError("no such service (or it has no instances)", where=service_id)
        spec = _spec_from_json(existing[0]["Labels"][LABEL_SPEC])
        with self._translate(service_id):
            config = self._api.inspect_container(existing[0]["Id"])["Config"]
        running = dict(item.partition("=")[::2] for item in config.get("Env") or [])
        env = {key: running.get(key, "") for key in spec.container.env}
        return replace(spec, container=replace(spec.container, env=env))

    def scale_service(self, service_id: str, instances: int) -> Service:
        if instances < 0:
            raise PermanentError(f"instances must be >= 0, not {instances}", where=service_id)
        spec = self._stored_spec(service_id)
        if instances == 0:
            self.delete_service(service_id)
            return Service(
                service_id,
                spec.container.team,
                spec.container.name,
                spec.container.kind,
                spec.container.image,
                0,
                (),
            )
        return self.ensure_service(replace(spec, instances=instances))

    def remove_instance(self, service_id: str, instance_id: str) -> Service:
        raws = {raw["Id"]: raw for raw in self._service_containers(service_id)}
        match = [i for i in raws if i == instance_id or i.startswith(instance_id)]
        if len(match) != 1:
            raise NotFoundError(f"instance {instance_id} is not part of it", where=service_id)
        labels: dict[str, str] = dict(raws[match[0]].get("Labels") or {})
        with suppress(NotFoundError), self._translate(service_id):
            self._api.remove_container(match[0], force=True, v=False)
        service = self.get_service(service_id)
        if service is None:  # its last instance: the service is gone (see Runtime)
            return Service(
                service_id,
                labels.get(LABEL_TEAM, ""),
                labels.get(LABEL_SERVICE, ""),
                WorkloadKind(labels.get(LABEL_KIND, "pool")),
                "",
                0,
                (),
            )
        return service

    def get_service(self, service_id: str) -> Service | None:
        existing = self._service_containers(service_id)
        if not existing:
            return None
        return self._service(service_id, existing)

    def _service(self, service_id: str, raws: list[dict[str, Any]]) -> Service:
        tasks = tuple(
            sorted(
                (self._instance(raw) for raw in raws),
                key=lambda i: int(i.labels.get(LABEL_INSTANCE, "0")),
            )
        )
        labels = tasks[0].labels
        spec = _spec_from_json(labels[LABEL_SPEC])
        return Service(
            id=service_id,
            team=labels.get(LABEL_TEAM, ""),
            name=labels.get(LABEL_SERVICE, ""),
            kind=WorkloadKind(labels.get(LABEL_KIND, "pool")),
            image=spec.container.image,
            instances=len(tasks),
            tasks=tasks,
            deploying=any(t.state is InstanceState.STARTING for t in tasks),
            port=int(labels[LABEL_PORT]) if LABEL_PORT in labels else None,
            labels={k: v for k, v in labels.items() if k != LABEL_SPEC},
        )

    def list_services(self, selector: Mapping[str, str] | None = None) -> list[Service]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for raw in self._containers(selector):
            labels = raw.get("Labels") or {}
            if labels.get(LABEL_KIND) == WorkloadKind.AGENT or LABEL_SPEC not in labels:
                continue
            sid = self.service_id(labels.get(LABEL_TEAM, ""), labels.get(LABEL_SERVICE, ""))
            groups.setdefault(sid, []).append(raw)
        return [self._service(sid, raws) for sid, raws in sorted(groups.items())]

    def delete_service(self, service_id: str, *, purge_volume: bool = False) -> None:
        existing = self._service_containers(service_id)
        volumes: set[str] = set()
        for raw in existing:
            spec = _spec_from_json(raw["Labels"][LABEL_SPEC])
            if spec.volume is not None:
                volumes.add(self.volume_name(spec.volume))
            with suppress(NotFoundError), self._translate(service_id):
                self._api.remove_container(raw["Id"], force=True, v=False)
        if purge_volume:
            for volume in volumes:
                with suppress(NotFoundError), self._translate(volume):
                    self._api.remove_volume(volume, force=True)

    def has_volume(self, service_id: str, volume: VolumeSpec) -> bool:
        try:
            with self._translate(service_id):
                self._api.inspect_volume(self.volume_name(volume))
        except NotFoundError:
            return False
        return True

    def remove_volume(self, service_id: str, volume: VolumeSpec) -> None:
        with suppress(NotFoundError), self._translate(self.volume_name(volume)):
            self._api.remove_volume(self.volume_name(volume), force=True)
