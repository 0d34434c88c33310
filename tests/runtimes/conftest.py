"""Runtimes under test. The same behavioural suite runs against each: DockerRuntime on
the real engine; MarathonRuntime on the Marathon emulator with its Docker executor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ciorch.adapters.docker_runtime import DockerRuntime
from ciorch.adapters.runtime import Runtime
from ciorch.model_runtime import LABEL_OWNER


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


@pytest.fixture(params=["docker"])
def runtime(request: pytest.FixtureRequest, docker_client: Any, owner: str) -> Iterator[Runtime]:
    if request.param == "docker":
        rt: Runtime = DockerRuntime(owner=owner, master_ports=(18900, 18999))
    else:  # pragma: no cover - filled in by the Marathon runtime
        raise AssertionError(request.param)
    try:
        yield rt
    finally:
        for service in rt.list_services():
            rt.delete_service(service.id, purge_volume=True)
        rt.close()
        _cleanup(docker_client, owner)
