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
def broken_master_image(docker_client: Any, master_image: str) -> str:
    """A master image that never answers: its masters never become healthy."""
    dockerfile = f'FROM {master_image}\nENTRYPOINT ["sleep", "infinity"]\n'
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag="ciorch/master-emulator:broken", rm=True
    )
    return "ciorch/master-emulator:broken"


@pytest.fixture(params=["docker", "marathon"])
def controller(
    request: pytest.FixtureRequest, tmp_path: Path, docker_client: Any, master_image: str
) -> Iterator[Controller]:
    owner = f"e2e-{uuid.uuid4().hex[:8]}"
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
        runtime = make()
        for service in runtime.list_services():
            runtime.delete_service(service.id, purge_volume=True)
        runtime.close()
        if emulator is not None:
            emulator.stop()
        for c in docker_client.containers.list(
            all=True, filters={"label": f"{LABEL_OWNER}={owner}"}
        ):
            c.remove(force=True, v=True)
        for v in docker_client.volumes.list(filters={"name": owner}):
            if v.name.startswith(owner + "-"):
                v.remove(force=True)
