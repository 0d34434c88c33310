"""The ``ciorch/agent-test`` image as a real container (host networking) running builds of the
Jenkins emulator: an inbound node and a Swarm-registered node."""

# Fixtures are imported from _jenkins_kit (no conftest here), so parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import jenkins
import pytest
from _jenkins_kit import ADMIN, client, emu, executable, finished, freestyle, jnlp_secret  # noqa: F401
from _wait import wait_for

from ciorch.testing.jenkins import JenkinsEmulator

pytestmark = pytest.mark.docker

IMAGE = "ciorch/agent-test:latest"
REPO = Path(__file__).resolve().parents[2]
TEST_LABEL = "ciorch.test"


def _context() -> io.BytesIO:
    """The repository-root build context, reduced to the two files the Dockerfile uses."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for rel in ("images/agent-test/Dockerfile", "ciorch/testing/agent.py"):
            tar.add(REPO / rel, arcname=rel)
    buffer.seek(0)
    return buffer


@pytest.fixture(scope="module")
def agent_image(docker_client: Any, base_image: str) -> str:
    try:
        docker_client.images.get(IMAGE)
    except Exception:
        docker_client.images.build(
            fileobj=_context(),
            custom_context=True,
            dockerfile="images/agent-test/Dockerfile",
            tag=IMAGE,
            network_mode="host",
            buildargs={"BASE_IMAGE": base_image},
            rm=True,
        )
    return IMAGE


def run_agent(docker_client: Any, containers: list[Any], env: dict[str, str]) -> Any:
    container = docker_client.containers.run(
        IMAGE,
        detach=True,
        network_mode="host",
        environment=env,
        labels={TEST_LABEL: "agent-container"},
    )
    containers.append(container)
    return container


def test_inbound_container_runs_the_step_inside(
    agent_image: str, docker_client: Any, containers: list[Any], emu: JenkinsEmulator, client: Any
) -> None:
    client.create_node("box", labels="docker-box", launcher=jenkins.LAUNCHER_JNLP)
    step = "cat /etc/hostname; id -u; echo hello-$PARAM; grep -c bookworm /etc/os-release; pwd"
    client.create_job("inside", freestyle(label="docker-box", params={"PARAM": "x"}, steps=(step,)))
    queue_id = client.build_job("inside", {"PARAM": "container"})
    container = run_agent(
        docker_client,
        containers,
        {"JENKINS_URL": emu.url, "AGENT_NAME": "box", "AGENT_SECRET": jnlp_secret(emu, "box")},
    )
    executable(client, queue_id, timeout=30)
    done = finished(client, "inside", 1, timeout=30)
    console = client.get_build_console_output("inside", 1)
    assert done["result"] == "SUCCESS", console
    assert done["builtOn"] == "box"
    lines = console.splitlines()
    assert "1000" in lines  # id -u: the image's non-root user, not the test's
    assert "hello-container" in lines
    assert "/home/jenkins/agent/workspace/inside" in lines
    container.stop(timeout=10)
    assert container.wait(timeout=10)["StatusCode"] == 0
    wait_for(lambda: client.get_node_info("box")["offline"], timeout=10)


def test_swarm_container_failing_step(
    agent_image: str, docker_client: Any, containers: list[Any], emu: JenkinsEmulator, client: Any
) -> None:
    client.create_job("broken", freestyle(label="pool-x", steps=("echo about-to-fail; exit 7",)))
    queue_id = client.build_job("broken")
    container = run_agent(
        docker_client,
        containers,
        {
            "JENKINS_URL": emu.url,
            "SWARM": "1",
            "LABELS": "pool-x other",
            "EXECUTORS": "2",
            "AGENT_NAME": "swarm-box",
            "JENKINS_USER": ADMIN[0],
            "JENKINS_TOKEN": ADMIN[1],
        },
    )
    executable(client, queue_id, timeout=30)
    done = finished(client, "broken", 1, timeout=30)
    console = client.get_build_console_output("broken", 1)
    assert done["result"] == "FAILURE", console
    assert done["builtOn"].startswith("swarm-box-")
    assert "about-to-fail" in console
    node = done["builtOn"]
    assert client.get_node_info(node)["numExecutors"] == 2
    container.stop(timeout=10)
    assert container.wait(timeout=10)["StatusCode"] == 0
    wait_for(lambda: not client.node_exists(node), timeout=10)
