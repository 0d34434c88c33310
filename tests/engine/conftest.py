"""A controller on a real runtime with the stand-in master image (the Jenkins emulator
in a container), for end-to-end onboarding and upgrade tests on both runtimes."""

from __future__ import annotations

import io
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _engine_kit import MASTER_IMAGE, ROOT, Controller, write_controller

from ciorch.adapters.docker_runtime import DockerRuntime
from ciorch.adapters.marathon_runtime import MarathonRuntime
from ciorch.adapters.runtime import Runtime
from ciorch.model.runtime import LABEL_OWNER
from ciorch.testing.marathon import MarathonEmulator


@pytest.fixture(scope="session")
def master_image(docker_client: Any, base_image: str) -> str:
    """The stand-in master image, built from this tree once per session."""
    subprocess.run(
        ["make", "-s", "master-emulator-image"],
        cwd=ROOT,
        check=True,
        timeout=600,
        capture_output=True,
    )
    return MASTER_IMAGE


@pytest.fixture(scope="session")
def broken_master_image(docker_client: Any, master_image: str) -> Iterator[str]:
    """A master image that never answers: its masters never become healthy. Tagged for
    this session only, and removed after it."""
    tag = f"ciorch/master-emulator:broken-{uuid.uuid4().hex[:8]}"
    dockerfile = f'FROM {master_image}\nENTRYPOINT ["sleep", "infinity"]\n'
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.fixture
def second_master_image(docker_client: Any, master_image: str) -> Iterator[str]:
    """The stand-in master image under a second name, as an upgrade target."""
    tag = f"ciorch/master-emulator:v2-{uuid.uuid4().hex[:8]}"
    docker_client.images.get(master_image).tag(tag)
    yield tag
    docker_client.images.remove(tag)


@pytest.fixture
def owner() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def docker_controller(
    tmp_path: Path, docker_client: Any, master_image: str, owner: str
) -> Iterator[Controller]:
    """A controller on the local engine only, for the failure-path tests."""
    write_controller(tmp_path, master_image)

    def make() -> Runtime:
        return DockerRuntime(owner=owner, master_ports=(18700, 18799))

    try:
        yield Controller(tmp_path, owner, "docker", make)
    finally:
        _cleanup(docker_client, make, owner)


def _cleanup(docker_client: Any, make: Any, owner: str) -> None:
    runtime = make()
    for service in runtime.list_services():
        runtime.delete_service(service.id, purge_volume=True)
    runtime.close()
    for c in docker_client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={owner}"}):
        c.remove(force=True, v=True)
    for v in docker_client.volumes.list(filters={"name": owner}):
        if v.name.startswith(owner + "-"):
            v.remove(force=True)


@pytest.fixture(params=["docker", "marathon"])
def controller(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    docker_client: Any,
    master_image: str,
    owner: str,
) -> Iterator[Controller]:
    write_controller(tmp_path, master_image)
    emulator: MarathonEmulator | None = None
    if request.param == "docker":

        def make() -> Runtime:
            return DockerRuntime(owner=owner, master_ports=(18700, 18799))
    else:
        emulator = MarathonEmulator(
            executor="docker", deployment_seconds=0.2, health_interval=0.5
        ).start()
        url = emulator.url

        def make() -> Runtime:
            return MarathonRuntime(url, owner=owner, deployment_timeout=30)

    try:
        yield Controller(tmp_path, owner, request.param, make)
    finally:
        try:
            if emulator is not None:
                runtime = make()
                for service in runtime.list_services():
                    runtime.delete_service(service.id, purge_volume=True)
                runtime.close()
                emulator.stop()
        finally:
            _cleanup(docker_client, make if emulator is None else _docker(owner), owner)


def _docker(owner: str) -> Any:
    return lambda: DockerRuntime(owner=owner, master_ports=(18700, 18799))
