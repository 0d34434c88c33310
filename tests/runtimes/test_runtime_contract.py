"""One behavioural suite for every Runtime: services, targeted scale-down, one-offs,
listing by labels from a fresh process, limits really applied, no leftovers."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from dataclasses import replace
from typing import Any

import pytest

from ciorch.adapters.runtime import Runtime, wait_for_service
from ciorch.errors import PermanentError
from ciorch.model.runtime import (
    LABEL_KIND,
    LABEL_NODE,
    LABEL_OWNER,
    LABEL_TEAM,
    LABEL_TEMPLATE,
    ContainerSpec,
    HealthCheck,
    InstanceState,
    Resources,
    Service,
    ServiceSpec,
    VolumeSpec,
    WorkloadKind,
)

pytestmark = pytest.mark.docker


def pool_spec(team: str, image: str, instances: int) -> ServiceSpec:
    return ServiceSpec(
        container=ContainerSpec(
            team=team,
            kind=WorkloadKind.POOL,
            name="pool-test-php",
            image=image,
            args=("sleep", "600"),
            template="test-php",
            resources=Resources(cpus=0.25, mem_mib=64, pids_limit=32),
        ),
        instances=instances,
    )


def agent_spec(team: str, image: str, node: str, **kw: Any) -> ContainerSpec:
    return ContainerSpec(
        team=team,
        kind=WorkloadKind.AGENT,
        name=f"agent-{node}",
        image=image,
        args=kw.pop("args", ("sleep", "600")),
        template="build-php",
        node_name=node,
        resources=kw.pop("resources", Resources(cpus=0.5, mem_mib=96, pids_limit=48)),
        **kw,
    )


def running(runtime: Runtime, sid: str, n: int) -> Service | None:
    return wait_for_service(
        runtime,
        sid,
        lambda s: (s is None and n == 0) or (s is not None and s.running == n and not s.deploying),
        timeout=30,
        interval=0.1,
        what=f"{n} running",
    )


def test_service_create_scale_and_delete(runtime: Runtime, team: str, base_image: str) -> None:
    service = runtime.ensure_service(pool_spec(team, base_image, 2))
    assert service.id == runtime.service_id(team, "pool-test-php")
    service = running(runtime, service.id, 2)
    assert service is not None
    assert service.instances == 2
    assert all(t.labels[LABEL_TEAM] == team for t in service.tasks)
    assert all(t.labels[LABEL_KIND] == "pool" for t in service.tasks)
    assert all(t.labels[LABEL_TEMPLATE] == "test-php" for t in service.tasks)

    runtime.scale_service(service.id, 3)
    assert (s := running(runtime, service.id, 3)) is not None
    assert len({t.id for t in s.tasks}) == 3

    runtime.ensure_service(pool_spec(team, base_image, 3))  # converges: nothing changes
    again = running(runtime, service.id, 3)
    assert again is not None
    assert {t.id for t in again.tasks} == {t.id for t in s.tasks}

    runtime.delete_service(service.id)
    assert runtime.get_service(service.id) is None
    assert runtime.list_instances({LABEL_TEAM: team}) == []


def test_targeted_remove_keeps_the_others(runtime: Runtime, team: str, base_image: str) -> None:
    sid = runtime.ensure_service(pool_spec(team, base_image, 3)).id
    service = running(runtime, sid, 3)
    assert service is not None
    victim, *survivors = service.tasks
    after = runtime.remove_instance(sid, victim.id)
    assert after.instances == 2
    assert {t.id for t in after.tasks} == {t.id for t in survivors}
    settled = running(runtime, sid, 2)
    assert settled is not None
    assert {t.id for t in settled.tasks} == {t.id for t in survivors}


def test_oneoff_run_list_stop(runtime: Runtime, team: str, base_image: str) -> None:
    agent = runtime.run_oneoff(agent_spec(team, base_image, "build-php-0001"))
    listed = runtime.list_instances({LABEL_NODE: "build-php-0001"})
    assert [i.id for i in listed] == [agent.id]
    assert listed[0].service is None
    runtime.stop_oneoff(agent.id)
    runtime.stop_oneoff(agent.id)  # already gone: no error
    assert runtime.list_instances({LABEL_TEAM: team}) == []


def test_listing_by_labels_from_a_fresh_process(
    runtime: Runtime, team: str, base_image: str
) -> None:
    runtime.run_oneoff(agent_spec(team, base_image, "n-1"))
    runtime.ensure_service(pool_spec(team, base_image, 2))
    script = (
        "import json, sys\n"
        "from ciorch.adapters.docker_runtime import DockerRuntime\n"
        "rt = DockerRuntime(owner=sys.argv[1])\n"
        "print(json.dumps(sorted([i.labels['ciorch.kind'], i.labels.get('ciorch.node', '')]"
        " for i in rt.list_instances({'ciorch.team': sys.argv[2]}))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, runtime.owner, team],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == [["agent", "n-1"], ["pool", ""], ["pool", ""]]


def test_limits_are_applied(
    runtime: Runtime, team: str, base_image: str, docker_client: Any
) -> None:
    agent = runtime.run_oneoff(
        agent_spec(
            team,
            base_image,
            "limits-1",
            resources=Resources(cpus=0.5, mem_mib=96, pids_limit=48),
            read_only_root=True,
            work_dir="/work",
            user="65534:65534",
        )
    )
    attrs = docker_client.containers.get(agent.id).attrs
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "host"
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == 96 * 1024 * 1024
    assert host["PidsLimit"] == 48
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] is True
    assert "/work" in host["Tmpfs"]
    assert attrs["Config"]["User"] == "65534:65534"
    assert attrs["Config"]["Labels"][LABEL_OWNER] == runtime.owner
    # and the kernel really enforces them, read from inside the container
    result = docker_client.containers.get(agent.id).exec_run(
        [
            "sh",
            "-c",
            "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max 2>/dev/null || "
            "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes; "
            "touch /etc/x 2>&1; touch /work/x && echo work-ok",
        ]
    )
    lines = result.output.decode().split("\n")
    assert lines[0] == "48"
    assert lines[1] == str(96 * 1024 * 1024)
    assert "Read-only file system" in lines[2]
    assert lines[3] == "work-ok"


def test_missing_image_is_a_clear_error(runtime: Runtime, team: str) -> None:
    with pytest.raises(PermanentError, match=r"image ciorch/no-such-image:1 does not exist"):
        runtime.run_oneoff(agent_spec(team, "ciorch/no-such-image:1", "n-2"))
    assert runtime.list_instances({LABEL_TEAM: team}) == []


def test_failed_start_leaves_nothing_behind(runtime: Runtime, team: str, base_image: str) -> None:
    with pytest.raises(PermanentError):
        runtime.run_oneoff(
            agent_spec(team, base_image, "n-3", args=(), entrypoint=("/no/such/binary",))
        )
    assert runtime.list_instances({LABEL_TEAM: team}) == []


@pytest.fixture
def python_image(docker_client: Any) -> str:
    """An image with python3 (the test agent's); built by the emulator tests or make."""
    name = "ciorch/agent-test:latest"
    try:
        docker_client.images.get(name)
    except Exception:
        subprocess.run(["make", "-s", "agent-images"], check=True, timeout=600, capture_output=True)
    return name


def master_spec(team: str, image: str, marker: str) -> ServiceSpec:
    serve = (
        f"mkdir -p /data/www && echo {marker} > /data/www/{marker}.txt && cd /data/www && "
        "exec python3 -m http.server $PORT0 --bind 127.0.0.1"
    )
    return ServiceSpec(
        container=ContainerSpec(
            team=team,
            kind=WorkloadKind.MASTER,
            name="master",
            image=image,
            entrypoint=("sh", "-c", serve),
            env={"MARKER": marker},
            user="0",
            resources=Resources(cpus=0.5, mem_mib=128),
        ),
        instances=1,
        volume=VolumeSpec(name=f"ciorch-{team}-jenkins-home", mount_path="/data"),
        health=HealthCheck(path=f"/{marker}.txt", grace_seconds=30, timeout_seconds=1),
        port=True,
    )


def healthy(runtime: Runtime, sid: str, image_marker: str) -> Service:
    service = wait_for_service(
        runtime,
        sid,
        lambda s: s is not None and s.healthy == 1 and s.tasks[0].labels.get("m") == image_marker,
        timeout=30,
        interval=0.2,
        what="healthy master",
    )
    assert service is not None
    return service


def test_master_with_port_volume_and_health(
    runtime: Runtime, team: str, python_image: str, docker_client: Any
) -> None:
    spec = master_spec(team, python_image, "v1")
    spec = replace(spec, container=_with_label(spec.container, "v1"))
    sid = runtime.ensure_service(spec).id
    first = healthy(runtime, sid, "v1")
    assert first.port is not None
    with urllib.request.urlopen(f"http://127.0.0.1:{first.port}/v1.txt", timeout=5) as answer:
        assert answer.read() == b"v1\n"

    # An upgrade replaces the instance; the port and the volume's content survive.
    upgraded = master_spec(team, python_image, "v2")
    upgraded = replace(upgraded, container=_with_label(upgraded.container, "v2"))
    runtime.ensure_service(upgraded)
    second = healthy(runtime, sid, "v2")
    assert second.port == first.port
    assert second.tasks[0].id != first.tasks[0].id
    with urllib.request.urlopen(f"http://127.0.0.1:{second.port}/v1.txt", timeout=5) as answer:
        assert answer.read() == b"v1\n"

    runtime.delete_service(sid)
    assert docker_client.volumes.get(f"ciorch-{team}-jenkins-home") is not None
    runtime.ensure_service(upgraded)
    healthy(runtime, sid, "v2")
    runtime.delete_service(sid, purge_volume=True)
    assert docker_client.volumes.list(filters={"name": f"ciorch-{team}-jenkins-home"}) == []


def test_unhealthy_master_is_reported(runtime: Runtime, team: str, python_image: str) -> None:
    spec = master_spec(team, python_image, "v1")
    broken = replace(spec, health=HealthCheck(path="/missing", grace_seconds=0, timeout_seconds=1))
    sid = runtime.ensure_service(broken).id
    service = wait_for_service(
        runtime,
        sid,
        lambda s: s is not None and s.tasks[0].state is InstanceState.UNHEALTHY,
        timeout=30,
        interval=0.2,
    )
    assert service is not None
    assert service.healthy == 0
    runtime.delete_service(sid, purge_volume=True)


def _with_label(container: ContainerSpec, marker: str) -> ContainerSpec:
    return replace(container, labels={"m": marker})
