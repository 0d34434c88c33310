"""The one interface ciorch uses to run containers, whatever runs them.

``DockerRuntime`` (the local engine, the embedded default) and ``MarathonRuntime`` (a
cluster) implement it; the engine never knows which one it has. A *service* is N
identical long-running instances (a master: one, with a volume and a health check; a
pool: N agents); a *one-off* is one throwaway agent container. Everything carries
ciorch's labels, so ``list_instances`` finds what ciorch owns after a restart."""

from __future__ import annotations

__all__ = ["Runtime", "wait_for_service"]

import time
from collections.abc import Callable, Mapping
from typing import Protocol

from ciorch.errors import TemporaryError
from ciorch.model.runtime import ContainerSpec, Instance, Service, ServiceSpec, VolumeSpec


class Runtime(Protocol):
    kind: str
    owner: str

    def service_id(self, team: str, name: str) -> str:
        """The runtime's id for service ``name`` of ``team``."""
        ...

    def ensure_service(self, spec: ServiceSpec, *, force: bool = False) -> Service:
        """Create the service, or change it to match ``spec`` (image, env, resources,
        instance count). Returns at once; use ``wait_for_service`` to wait. ``force``
        replaces a change still in progress instead of waiting for it: only for rolling
        back a change that will never complete (a master that never became healthy)."""
        ...

    def scale_service(self, service_id: str, instances: int) -> Service:
        """Set the desired instance count. Scaling down removes instances the runtime
        picks; use ``remove_instance`` when the caller must choose."""
        ...

    def remove_instance(self, service_id: str, instance_id: str) -> Service:
        """Targeted scale-down: remove exactly this instance and lower the desired count
        by one, so a busy agent is never the one killed."""
        ...

    def get_service(self, service_id: str) -> Service | None:
        """The service, or None when it does not exist. On Docker a service scaled to
        zero has no containers left and reads as None."""
        ...

    def list_services(self, selector: Mapping[str, str] | None = None) -> list[Service]:
        """Services owned by this ciorch whose labels match ``selector``."""
        ...

    def delete_service(self, service_id: str, *, purge_volume: bool = False) -> None:
        """Remove the service and its instances; its volume stays unless purged."""
        ...

    def has_volume(self, service_id: str, volume: VolumeSpec) -> bool:
        """Whether the service's persistent volume exists (also after the service was
        deleted without purging it)."""
        ...

    def remove_volume(self, service_id: str, volume: VolumeSpec) -> None:
        """Delete the service's persistent volume, if any; its instances must be gone."""
        ...

    def run_oneoff(self, spec: ContainerSpec) -> Instance:
        """Start one throwaway container (an ephemeral agent)."""
        ...

    def stop_oneoff(self, instance_id: str) -> None:
        """Stop and remove a one-off container; no error when it is already gone."""
        ...

    def list_instances(self, selector: Mapping[str, str] | None = None) -> list[Instance]:
        """Every container or task owned by this ciorch whose labels match."""
        ...

    def close(self) -> None: ...


def wait_for_service(
    runtime: Runtime,
    service_id: str,
    done: Callable[[Service | None], bool],
    *,
    timeout: float,
    what: str = "service",
    interval: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: Callable[[Service | None, float], None] | None = None,
) -> Service | None:
    """Poll ``get_service`` until ``done`` says so or ``timeout`` seconds pass (then
    TemporaryError naming what was awaited and the last state seen)."""
    deadline = clock() + timeout
    while True:
        service = runtime.get_service(service_id)
        if done(service):
            return service
        remaining = deadline - clock()
        if on_progress is not None:
            on_progress(service, max(remaining, 0.0))
        if remaining <= 0:
            state = (
                "absent"
                if service is None
                else f"{service.running}/{service.instances} running, {service.healthy} healthy"
            )
            raise TemporaryError(
                f"{what} not ready after {timeout:.0f} s ({state})", where=service_id
            )
        sleep(min(interval, remaining))
