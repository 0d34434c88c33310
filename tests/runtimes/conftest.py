"""Runtimes under test. The same behavioural suite runs against each: DockerRuntime on
the real engine; MarathonRuntime on the Marathon emulator with its Docker executor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ciorch.adapters.docker_runtime import DockerRuntime
from ciorch.adapters.marathon_runtime import MarathonRuntime
from ciorch.adapters.runtime import Runtime
from ciorch.model.runtime import LABEL_KIND, LABEL_OWNER
from ciorch.testing.marathon import MarathonEmulator


@pytest.fixture
def owner() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def team(owner: str) -> str:
    return f"t{owner[-6:]}"


def _cleanup(docker_client: Any, owner: str) -> None:
    for container in docker_client.containers.list(
        all=True, filters={"label": f"{LABEL_OWNER}={owner}"}
    ):
        container.remove(force=True, v=True)
    for volume in _volumes(docker_client, owner):
        volume.remove(force=True)


def _volumes(docker_client: Any, owner: str) -> list[Any]:
    """The owner's volumes: labelled ones (the Marathon emulator's) and the named volumes
    Docker creates from a bind, which carry no labels but the owner's name prefix."""
    labelled = docker_client.volumes.list(filters={"label": f"{LABEL_OWNER}={owner}"})
    named = [
        v
        for v in docker_client.volumes.list(filters={"name": owner})
        if v.name.startswith(owner + "-")
    ]
    return list({v.name: v for v in [*labelled, *named]}.values())


def _leftovers(docker_client: Any, owner: str) -> list[str]:
    """Containers and volumes of ``owner`` still on the engine."""
    label = f"{LABEL_OWNER}={owner}"
    containers = docker_client.containers.list(all=True, filters={"label": label})
    volumes = _volumes(docker_client, owner)
    return [f"container {c.name}" for c in containers] + [f"volume {v.name}" for v in volumes]


@pytest.fixture(params=["docker", "marathon"])
def runtime(request: pytest.FixtureRequest, docker_client: Any, owner: str) -> Iterator[Runtime]:
    emulator: MarathonEmulator | None = None
    if request.param == "docker":
        rt: Runtime = DockerRuntime(owner=owner, master_ports=(18900, 18999))
    elif request.param == "marathon":
        # Real containers (host networking) behind a real Marathon REST API; health
        # checks every 0.5 s instead of each check's intervalSeconds, to keep it fast.
        emulator = MarathonEmulator(
            executor="docker", deployment_seconds=0.2, health_interval=0.5
        ).start()
        rt = MarathonRuntime(emulator.url, owner=owner, deployment_timeout=30)
    else:  # pragma: no cover
        raise AssertionError(request.param)
    try:
        yield rt
    finally:
        try:
            for service in rt.list_services():
                rt.delete_service(service.id, purge_volume=True)
            for agent in rt.list_instances({LABEL_KIND: "agent"}):
                rt.stop_oneoff(agent.id)
            rt.close()
        finally:
            if emulator is not None:
                emulator.stop()
            left = _leftovers(docker_client, owner)
            _cleanup(docker_client, owner)
            assert left == [], f"{request.param} left {left} behind"
