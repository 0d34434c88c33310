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
from _wait import wait_for

from ciorch.adapters.marathon_runtime import MarathonRuntime
from ciorch.adapters.runtime import Runtime, wait_for_service
from ciorch.errors import CiorchError, PermanentError, TemporaryError
from ciorch.model.runtime import (
    LABEL_KIND,
    LABEL_NODE,
    LABEL_OWNER,
    LABEL_SERVICE,
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


def construct(runtime: Runtime) -> str:
    """Python that builds the same kind of runtime, for a fresh process (owner in argv[1])."""
    if isinstance(runtime, MarathonRuntime):
        return (
            "from ciorch.adapters.marathon_runtime import MarathonRuntime\n"
            f"rt = MarathonRuntime({runtime.url!r}, owner=sys.argv[1])\n"
        )
    return "from ciorch.adapters.docker_runtime import DockerRuntime\nrt = DockerRuntime(owner=sys.argv[1])\n"


def container_of(runtime: Runtime, docker_client: Any, node: str) -> Any:
    """The running container of one-off ``node``, found by ciorch's labels (on Marathon
    the task starts after ``run_oneoff`` returns)."""
    labels = [f"{LABEL_OWNER}={runtime.owner}", f"{LABEL_NODE}={node}"]
    found = wait_for(
        lambda: docker_client.containers.list(filters={"label": labels, "status": "running"}),
        timeout=30,
    )
    return found[0]


def start_oneoff(runtime: Runtime, spec: ContainerSpec) -> None:
    """Start a one-off and see it run, or fail. Docker starts the container inside
    ``run_oneoff``, so a failure to start is its PermanentError. Marathon returns once
    the app exists and the task fails on the agent later: ``wait_oneoff`` reports
    Marathon's lastTaskFailure (a TemporaryError: Marathon relaunches after a backoff);
    the caller (the engine) then stops the one-off, which leaves nothing behind."""
    if not isinstance(runtime, MarathonRuntime):
        runtime.run_oneoff(spec)
        return
    agent = runtime.run_oneoff(spec)
    try:
        runtime.wait_oneoff(agent.id, timeout=30)
    finally:
        runtime.stop_oneoff(agent.id)


def test_service_create_scale_and_delete(runtime: Runtime, team: str, base_image: str) -> None:
    created = runtime.ensure_service(pool_spec(team, base_image, 2))
    assert created.id == runtime.service_id(team, "pool-test-php")
    service = running(runtime, created.id, 2)
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
    sid = runtime.ensure_service(pool_spec(team, base_image, 2)).id
    running(runtime, sid, 2)  # on Marathon the tasks come after ensure_service returns
    script = (
        "import json, sys\n"
        + construct(runtime)
        + "print(json.dumps(sorted([i.labels['ciorch.kind'], i.labels.get('ciorch.node', '')]"
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
    runtime.run_oneoff(
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
    container = container_of(runtime, docker_client, "limits-1")
    attrs = container.attrs
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
    result = container.exec_run(
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
    expected: tuple[type[CiorchError], str] = (
        (TemporaryError, r"not running: .*ciorch/no-such-image:1")
        if runtime.kind == "marathon"
        else (PermanentError, r"image ciorch/no-such-image:1 does not exist")
    )
    with pytest.raises(expected[0], match=expected[1]):
        start_oneoff(runtime, agent_spec(team, "ciorch/no-such-image:1", "n-2"))
    assert runtime.list_instances({LABEL_TEAM: team}) == []


def test_failed_start_leaves_nothing_behind(runtime: Runtime, team: str, base_image: str) -> None:
    expected = TemporaryError if runtime.kind == "marathon" else PermanentError
    with pytest.raises(expected, match="/no/such/binary"):
        start_oneoff(
            runtime,
            agent_spec(team, base_image, "n-3", args=(), entrypoint=("/no/such/binary",)),
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
        volume=VolumeSpec(name=f"{team}-jenkins-home", mount_path="/data"),
        health=HealthCheck(path=f"/{marker}.txt", grace_seconds=30, timeout_seconds=1),
        port=True,
    )


def healthy(runtime: Runtime, sid: str, image_marker: str) -> Service:
    service = wait_for_service(
        runtime,
        sid,
        # not deploying: on Marathon labels are the app's, so the old task of an upgrade
        # carries the new marker until the upgrade's deployment ends
        lambda s: (
            s is not None
            and s.healthy == 1
            and not s.deploying
            and s.tasks[0].labels.get("m") == image_marker
        ),
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
    assert runtime.get_service(sid) is None
    assert len(jenkins_home_volumes(runtime, docker_client, team)) == 1
    runtime.ensure_service(upgraded)
    back = healthy(runtime, sid, "v2")
    with urllib.request.urlopen(f"http://127.0.0.1:{back.port}/v1.txt", timeout=5) as answer:
        assert answer.read() == b"v1\n"
    runtime.delete_service(sid, purge_volume=True)
    wait_for_volumes(runtime, docker_client, team, 0)


def jenkins_home_volumes(runtime: Runtime, docker_client: Any, team: str) -> list[Any]:
    """Docker: the named volume. Marathon (emulator): the Docker volume standing for the
    master app's local persistent volume, found by ciorch's labels."""
    if runtime.kind == "marathon":
        labels = [f"{LABEL_TEAM}={team}", f"{LABEL_SERVICE}=master"]
        return list(docker_client.volumes.list(filters={"label": labels}))
    name = f"{runtime.owner}-{team}-jenkins-home"
    return [v for v in docker_client.volumes.list(filters={"name": name}) if v.name == name]


def wait_for_volumes(runtime: Runtime, docker_client: Any, team: str, count: int) -> None:
    """Marathon destroys a deleted app's volumes once its tasks are gone: not at once."""
    wait_for(lambda: len(jenkins_home_volumes(runtime, docker_client, team)) == count, 15)


def test_unhealthy_master_is_reported(runtime: Runtime, team: str, python_image: str) -> None:
    spec = master_spec(team, python_image, "v1")
    broken = replace(spec, health=HealthCheck(path="/missing", grace_seconds=0, timeout_seconds=1))
    sid = runtime.ensure_service(broken).id
    service = wait_for_service(
        runtime,
        sid,
        # any task: on Marathon a task failing its checks is killed and relaunched
        lambda s: s is not None and any(t.state is InstanceState.UNHEALTHY for t in s.tasks),
        timeout=30,
        interval=0.2,
    )
    assert service is not None
    assert service.healthy == 0
    runtime.delete_service(sid, purge_volume=True)


def _with_label(container: ContainerSpec, marker: str) -> ContainerSpec:
    return replace(container, labels={"m": marker})


def test_scaling_keeps_environment_without_exposing_it(
    runtime: Runtime, team: str, base_image: str, docker_client: Any
) -> None:
    spec = pool_spec(team, base_image, 1)
    spec = replace(spec, container=replace(spec.container, env={"SWARM_PASSWORD": "s3cret-pw"}))
    sid = runtime.ensure_service(spec).id
    assert running(runtime, sid, 1) is not None
    runtime.scale_service(sid, 2)
    service = running(runtime, sid, 2)
    assert service is not None
    for container in docker_client.containers.list(filters={"label": f"{LABEL_TEAM}={team}"}):
        assert "SWARM_PASSWORD=s3cret-pw" in container.attrs["Config"]["Env"]
        assert all("s3cret-pw" not in value for value in container.labels.values())
