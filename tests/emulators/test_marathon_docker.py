"""Marathon emulator with the Docker executor: every task is a real container (host
networking), found by the emulator's labels; scaling starts and removes containers;
a container that exits fails its task; stopping the emulator leaves none."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from _wait import wait_for
from marathon import MarathonApp

from ciorch.adapters import marathon_compat
from ciorch.testing.marathon import APP_LABEL, EMULATOR_LABEL, TASK_LABEL, MarathonEmulator

pytestmark = pytest.mark.docker


@pytest.fixture
def emu(docker_client: Any, base_image: str) -> Iterator[MarathonEmulator]:
    emulator = MarathonEmulator("docker", deployment_seconds=0.1, docker_image=base_image)
    with emulator:
        yield emulator


def containers_of(docker_client: Any, emu: MarathonEmulator, running: bool = True) -> list[Any]:
    return list(
        docker_client.containers.list(
            all=not running, filters={"label": f"{EMULATOR_LABEL}={emu.instance_id}"}
        )
    )


def running_task_ids(docker_client: Any, emu: MarathonEmulator) -> set[str]:
    return {c.labels[TASK_LABEL] for c in containers_of(docker_client, emu)}


def test_scale_0_3_1_runs_exactly_the_right_containers(
    docker_client: Any, base_image: str, emu: MarathonEmulator
) -> None:
    mc = marathon_compat.client(emu.url, timeout=10)
    app = MarathonApp(
        cmd="sleep 300",
        instances=0,
        cpus=0.1,
        mem=32,
        labels={"team": "a"},
        container={"type": "DOCKER", "docker": {"image": base_image}},
    )
    mc.create_app("/ci/agents", app)
    wait_for(lambda: not mc.list_deployments(), timeout=10)
    assert containers_of(docker_client, emu, running=False) == []

    mc.scale_app("/ci/agents", instances=3)
    wait_for(lambda: mc.get_app("/ci/agents").tasks_running == 3, timeout=20)
    wait_for(lambda: not mc.list_deployments(), timeout=10)
    tasks = {t.id for t in mc.list_tasks("/ci/agents")}
    assert running_task_ids(docker_client, emu) == tasks
    container = containers_of(docker_client, emu)[0]
    assert container.labels[APP_LABEL] == "/ci/agents"
    assert container.labels["team"] == "a"
    attrs = container.attrs
    assert attrs["HostConfig"]["NetworkMode"] == "host"
    assert attrs["HostConfig"]["Memory"] == 32 * 1024 * 1024
    assert attrs["HostConfig"]["NanoCpus"] == int(0.1 * 1e9)
    env = dict(e.split("=", 1) for e in attrs["Config"]["Env"])
    assert env["MARATHON_APP_ID"] == "/ci/agents"
    assert env["PORT0"] in {str(p) for t in mc.list_tasks("/ci/agents") for p in t.ports}

    mc.scale_app("/ci/agents", instances=1)
    wait_for(lambda: not mc.list_deployments(), timeout=20)
    left = {t.id for t in mc.list_tasks("/ci/agents")}
    assert len(left) == 1
    assert left <= tasks
    wait_for(lambda: running_task_ids(docker_client, emu) == left, timeout=10)
    assert len(containers_of(docker_client, emu, running=False)) == 1  # killed = removed

    emu.stop()
    assert containers_of(docker_client, emu, running=False) == []


def test_exited_container_fails_the_task_and_is_restarted(
    docker_client: Any, base_image: str, emu: MarathonEmulator
) -> None:
    mc = marathon_compat.client(emu.url, timeout=10)
    mc.create_app("/crash", MarathonApp(cmd="sleep 300", cpus=0.1, mem=32, backoff_seconds=0))
    wait_for(lambda: mc.get_app("/crash").tasks_running == 1, timeout=20)
    first = mc.list_tasks("/crash")[0].id
    containers_of(docker_client, emu)[0].kill()
    wait_for(lambda: mc.get_app("/crash").last_task_failure is not None, timeout=10)
    failure = mc.get_app("/crash").last_task_failure
    assert (failure.task_id, failure.state) == (first, "TASK_FAILED")
    assert "exited" in failure.message
    wait_for(lambda: {t.id for t in mc.list_tasks("/crash")} - {first}, timeout=20)
    wait_for(lambda: len(running_task_ids(docker_client, emu) - {first}) == 1, timeout=20)


def test_tcp_health_check_probes_the_real_port(
    docker_client: Any, base_image: str, emu: MarathonEmulator
) -> None:
    """Host networking: a check on PORT0 reaches the process in the container. bash's
    /dev/tcp cannot listen, so the test itself listens on the port the task got and
    the probe must see it; before that the task is unhealthy."""
    mc = marathon_compat.client(emu.url, timeout=10)
    check = {
        "protocol": "TCP",
        "gracePeriodSeconds": 0,
        "intervalSeconds": 1,
        "maxConsecutiveFailures": 0,
    }
    mc.create_app("/hc", MarathonApp(cmd="sleep 300", cpus=0.1, mem=32, health_checks=[check]))
    wait_for(lambda: mc.get_app("/hc").tasks_unhealthy == 1, timeout=20)
    assert mc.list_deployments()  # waits for health
    port = mc.list_tasks("/hc")[0].ports[0]
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        wait_for(lambda: mc.get_app("/hc").tasks_healthy == 1, timeout=10)
        wait_for(lambda: not mc.list_deployments(), timeout=10)


def test_module_entry_point_removes_its_containers_on_sigterm(
    docker_client: Any, base_image: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "ciorch.testing.marathon", "--port", str(port)),
            *("--executor", "docker", "--deployment-seconds", "0.05", "--docker-image", base_image),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        instance_id = process.stdout.readline().split()[2]
        mc = marathon_compat.client(f"http://127.0.0.1:{port}", timeout=10)
        mc.create_app("/cli", MarathonApp(cmd="sleep 300", cpus=0.1, mem=32, instances=2))
        label = {"label": f"{EMULATOR_LABEL}={instance_id}"}
        wait_for(lambda: len(docker_client.containers.list(filters=label)) == 2, timeout=20)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert docker_client.containers.list(all=True, filters=label) == []
