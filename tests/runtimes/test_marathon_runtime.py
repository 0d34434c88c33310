"""MarathonRuntime behaviour that only Marathon has: app definitions that validate
against Marathon's own schema, 409 locks waited out, targeted kills that scale down,
Marathon's errors translated, retired services keeping their volume. Against the
emulator's memory executor (no containers); the shared suite covers real containers."""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import jsonschema
import pytest
from _wait import wait_for

from ciorch.adapters.marathon_runtime import (
    MarathonRuntime,
    app_definition,
    oneoff_definition,
)
from ciorch.adapters.runtime import wait_for_service
from ciorch.errors import NotFoundError, PermanentError, TemporaryError
from ciorch.model.runtime import (
    LABEL_KIND,
    LABEL_NODE,
    LABEL_OWNER,
    LABEL_TEAM,
    ContainerSpec,
    HealthCheck,
    InstanceState,
    Resources,
    Service,
    ServiceSpec,
    VolumeSpec,
    WorkloadKind,
)
from ciorch.testing.marathon import MarathonEmulator, MemoryExecutor

TEAM = "t1"


def container(kind: WorkloadKind, name: str, **kw: Any) -> ContainerSpec:
    return ContainerSpec(team=TEAM, kind=kind, name=name, image="local/img:1", **kw)


POOL = ServiceSpec(
    container=container(
        WorkloadKind.POOL,
        "pool-php",
        args=("swarm", "-labels", "php"),
        template="php",
        resources=Resources(cpus=0.25, mem_mib=64, pids_limit=32),
    ),
    instances=2,
)
MASTER = ServiceSpec(
    container=container(
        WorkloadKind.MASTER,
        "master",
        entrypoint=("sh", "-c", "exec jenkins"),
        env={"JAVA_OPTS": "-Xmx1g"},
        user="1000",
    ),
    volume=VolumeSpec(name="ciorch-t1-jenkins-home", mount_path="/var/jenkins_home"),
    health=HealthCheck(path="/login", grace_seconds=300, interval_seconds=10),
    port=True,
    constraints=(("hostname", "UNIQUE"),),
)
AGENT = container(
    WorkloadKind.AGENT,
    "agent-build-php-0001",
    template="build-php",
    node_name="build-php-0001",
    read_only_root=True,
    work_dir="/work",
    user="65534:65534",
    entrypoint=(),
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    ref = importlib.resources.files("ciorch.schemas").joinpath("marathon/AppDefinition.json")
    return jsonschema.Draft4Validator(json.loads(ref.read_text(encoding="utf-8")))


def _params(definition: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["key"], p["value"]) for p in definition["container"]["docker"]["parameters"]]


@pytest.mark.parametrize(
    ("what", "definition"),
    [
        ("pool", app_definition("/ciorch/t1/pool-php", POOL, owner="o")),
        ("pool, config constraints", app_definition(
            "/ciorch/t1/pool-php", POOL, owner="o", constraints=(("rack", "GROUP_BY", "2"),)
        )),
        ("master", app_definition("/ciorch/t1/master", MASTER, owner="o")),
        ("master scaled to 0", app_definition("/ciorch/t1/master", replace(MASTER, instances=0), owner="o")),
        ("agent", oneoff_definition("/ciorch/t1/agent-build-php-0001", AGENT, owner="o")),
        ("agent, image entrypoint", oneoff_definition(
            "/ciorch/t1/agent-x", replace(AGENT, entrypoint=None, read_only_root=False), owner="o"
        )),
    ],
)  # fmt: skip
def test_every_definition_validates_against_marathons_schema(
    validator: jsonschema.Draft4Validator, what: str, definition: dict[str, Any]
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(definition)]
    assert errors == [], what
    assert definition["networks"] == [{"mode": "host"}]
    assert definition["labels"][LABEL_OWNER] == "o"
    assert definition["labels"][LABEL_TEAM] == TEAM
    params = _params(definition)
    assert ("cap-drop", "ALL") in params
    assert ("security-opt", "no-new-privileges") in params
    assert ("label", f"{LABEL_OWNER}=o") in params  # the container carries the labels too


def test_definitions_carry_the_limits_volume_and_health_check() -> None:
    pool = app_definition("/ciorch/t1/pool-php", POOL, owner="o")
    assert (pool["cpus"], pool["mem"], pool["instances"]) == (0.25, 64, 2)
    assert ("pids-limit", "32") in _params(pool)
    assert pool["args"] == ["swarm", "-labels", "php"]
    assert pool["portDefinitions"] == []

    master = app_definition("/ciorch/t1/master", MASTER, owner="o")
    assert master["portDefinitions"][0]["port"] == 0
    assert master["container"]["volumes"] == [
        {
            "containerPath": "ciorch-t1-jenkins-home",
            "mode": "RW",
            "persistent": {"type": "root", "size": 10240},
        },
        {"containerPath": "/var/jenkins_home", "hostPath": "ciorch-t1-jenkins-home", "mode": "RW"},
    ]
    assert master["residency"]["taskLostBehavior"] == "WAIT_FOREVER"
    assert master["upgradeStrategy"] == {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}
    (check,) = master["healthChecks"]
    assert check["protocol"] == "MESOS_HTTP"
    assert (check["path"], check["portIndex"], check["gracePeriodSeconds"]) == ("/login", 0, 300)
    assert master["constraints"] == [["hostname", "UNIQUE"]]
    assert ("entrypoint", "sh") in _params(master)
    assert master["args"] == ["-c", "exec jenkins"]
    assert ("user", "1000") in _params(master)

    agent = oneoff_definition("/ciorch/t1/agent-build-php-0001", AGENT, owner="o")
    params = _params(agent)
    assert ("read-only", "true") in params
    assert ("tmpfs", "/work:rw,exec,nosuid,mode=1777,size=4g") in params
    assert ("entrypoint", "") in params
    assert agent["backoffSeconds"] >= 60
    assert agent["instances"] == 1


# ------------------------------------------------------------------ against the emulator


@pytest.fixture
def emulator() -> Iterator[MarathonEmulator]:
    with MarathonEmulator(deployment_seconds=0.05) as emu:
        yield emu


@pytest.fixture
def runtime(emulator: MarathonEmulator) -> Iterator[MarathonRuntime]:
    rt = MarathonRuntime(emulator.url, owner="o", deployment_timeout=10)
    yield rt
    rt.close()


def settled(rt: MarathonRuntime, sid: str, n: int) -> Service:
    service = wait_for_service(
        rt,
        sid,
        lambda s: s is not None and s.running == n and not s.deploying,
        timeout=10,
        interval=0.02,
    )
    assert service is not None
    return service


def test_a_locked_app_is_waited_out_and_the_change_retried(emulator: MarathonEmulator) -> None:
    emulator.state.deployment_seconds = 0.6
    rt = MarathonRuntime(emulator.url, owner="o", deployment_timeout=10)
    sid = rt.ensure_service(POOL).id
    assert rt.get_service(sid) is not None
    assert rt.get_service(sid).deploying  # type: ignore[union-attr]
    changed = replace(POOL, container=replace(POOL.container, image="local/img:2"))
    service = rt.ensure_service(changed)  # 409 until the first deployment ends
    assert service.image == "local/img:2"
    assert emulator.state.apps[sid].definition["container"]["docker"]["image"] == "local/img:2"


def test_a_lock_that_outlasts_the_deadline_is_a_temporary_error(
    emulator: MarathonEmulator,
) -> None:
    emulator.state.deployment_seconds = 30
    now = [0.0]
    rt = MarathonRuntime(
        emulator.url,
        owner="o",
        deployment_timeout=5,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    sid = rt.ensure_service(POOL).id
    with pytest.raises(TemporaryError, match="still locked by a deployment after 5 s") as info:
        rt.scale_service(sid, 3)
    assert info.value.where == sid
    assert type(info.value.__cause__).__name__ == "ConflictError"
    assert now[0] >= 5


def test_remove_instance_kills_exactly_that_task_and_scales_down(
    runtime: MarathonRuntime, emulator: MarathonEmulator
) -> None:
    sid = runtime.ensure_service(replace(POOL, instances=3)).id
    before = settled(runtime, sid, 3)
    victim = before.tasks[1]
    after = runtime.remove_instance(sid, victim.id)
    assert after.instances == 2
    assert victim.id not in {t.id for t in after.tasks}
    final = settled(runtime, sid, 2)
    assert {t.id for t in final.tasks} == {t.id for t in before.tasks} - {victim.id}
    assert emulator.state.apps[sid].instances == 2
    with pytest.raises(NotFoundError, match="not part of it"):
        runtime.remove_instance(sid, victim.id)


def test_remove_instance_during_a_deployment(
    runtime: MarathonRuntime, emulator: MarathonEmulator
) -> None:
    sid = runtime.ensure_service(replace(POOL, instances=2)).id
    first = settled(runtime, sid, 2)
    emulator.state.deployment_seconds = 30
    runtime.scale_service(sid, 4)  # a scale-up that will not finish soon
    after = runtime.remove_instance(sid, first.tasks[0].id)
    assert after.instances == 3
    assert first.tasks[0].id not in {t.id for t in after.tasks}


def test_a_refused_definition_names_the_path(runtime: MarathonRuntime) -> None:
    bad = replace(POOL, container=replace(POOL.container, resources=Resources(cpus=-1)))
    with pytest.raises(
        PermanentError, match=r"Marathon rejected /ciorch/t1/pool-php: /cpus: got -1"
    ):
        runtime.ensure_service(bad)
    with pytest.raises(PermanentError) as info:
        runtime.ensure_service(bad)
    assert type(info.value.__cause__).__name__ == "MarathonHttpError"


def test_marathon_down_or_failing_is_a_temporary_error(
    runtime: MarathonRuntime, emulator: MarathonEmulator
) -> None:
    emulator.down()
    with pytest.raises(TemporaryError, match="Marathon does not answer"):
        runtime.get_service("/ciorch/t1/pool-php")
    with pytest.raises(TemporaryError):
        runtime.list_instances()
    emulator.up()
    emulator.error_rate, emulator.error_status = 1.0, 503
    with pytest.raises(TemporaryError, match="HTTP 503"):
        runtime.list_services()
    emulator.error_rate = 0.0
    assert runtime.list_services() == []


def test_oneoff_is_its_app_and_reports_a_failed_task(
    runtime: MarathonRuntime, emulator: MarathonEmulator
) -> None:
    agent = runtime.run_oneoff(AGENT)
    assert agent.id == "/ciorch/t1/agent-build-php-0001"
    with pytest.raises(PermanentError, match="already exists"):
        runtime.run_oneoff(AGENT)
    (listed,) = runtime.list_instances({LABEL_NODE: "build-php-0001"})
    assert (listed.id, listed.service, listed.labels[LABEL_KIND]) == (agent.id, None, "agent")
    running = runtime.wait_oneoff(agent.id, timeout=10)
    assert running.state is InstanceState.RUNNING

    executor = emulator.executor
    assert isinstance(executor, MemoryExecutor)
    (task_id,) = executor.tasks
    executor.fail(task_id, "Command exited with status 3")
    # not relaunched before the long backoff: FAILED until the engine stops it
    wait_for(
        lambda: (
            runtime.list_instances({LABEL_NODE: "build-php-0001"})[0].state is InstanceState.FAILED
        ),
        timeout=10,
    )
    with pytest.raises(TemporaryError, match="Command exited with status 3"):
        runtime.wait_oneoff(agent.id, timeout=10, interval=0.02)

    runtime.stop_oneoff(agent.id)
    runtime.stop_oneoff(agent.id)  # already gone: no error
    assert runtime.list_instances() == []
    with pytest.raises(NotFoundError):
        runtime.wait_oneoff(agent.id, timeout=1)


def test_delete_keeps_a_volume_as_a_retired_app_until_purged(
    runtime: MarathonRuntime, emulator: MarathonEmulator
) -> None:
    master = replace(MASTER, health=None)
    sid = runtime.ensure_service(master).id
    settled(runtime, sid, 1)
    runtime.delete_service(sid)
    assert runtime.get_service(sid) is None
    assert runtime.list_services() == []
    assert emulator.state.apps[sid].instances == 0  # the reservation stays with the app
    runtime.ensure_service(master)
    assert settled(runtime, sid, 1).instances == 1
    runtime.delete_service(sid, purge_volume=True)
    assert sid not in emulator.state.apps
    runtime.delete_service(sid)  # already gone: no error


def test_scaling_a_missing_service_is_not_found(runtime: MarathonRuntime) -> None:
    with pytest.raises(NotFoundError):
        runtime.scale_service("/ciorch/t1/nothing", 2)
    with pytest.raises(PermanentError, match=">= 0"):
        runtime.scale_service("/ciorch/t1/nothing", -1)
    assert runtime.get_service("/ciorch/t1/nothing") is None
