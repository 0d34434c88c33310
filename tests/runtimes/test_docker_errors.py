"""DockerRuntime's errors: an engine that is down, and no free port for a master."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from ciorch.adapters.docker_runtime import DockerRuntime
from ciorch.errors import PermanentError, TemporaryError
from ciorch.model.runtime import ContainerSpec, ServiceSpec, WorkloadKind


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("unix:///nonexistent/docker.sock", "no such socket"),
        ("tcp://127.0.0.1:1", "connection refused"),
    ],
)
def test_engine_down_is_a_temporary_error(base_url: str, reason: str) -> None:
    with pytest.raises(TemporaryError) as caught:
        DockerRuntime(base_url=base_url)
    assert str(caught.value) == (
        f"the Docker engine does not answer ({reason}); is dockerd running? ({base_url})"
    )
    assert caught.value.__cause__ is not None


@pytest.mark.docker
def test_no_free_master_port(docker_client: Any, base_image: str, owner: str, team: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        runtime = DockerRuntime(owner=owner, master_ports=(port, port))
        spec = ServiceSpec(
            container=ContainerSpec(
                team=team, kind=WorkloadKind.MASTER, name="master", image=base_image
            ),
            port=True,
        )
        with pytest.raises(PermanentError) as caught:
            runtime.ensure_service(spec)
    assert str(caught.value).startswith(f"no free port in {port}-{port} on 127.0.0.1 for a master")
    assert runtime.list_instances() == []
    runtime.close()
