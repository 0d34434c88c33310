"""Marathon emulator: asynchronous deployments, 409 locking, rollback, health, tasks and
kills (API.md section B; "ten things" 8 and 9), through the real marathon client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from _wait import wait_for
from marathon import MarathonApp
from marathon.exceptions import ConflictError, NotFoundError
from marathon.models.deployment import MarathonDeployment

from ciorch.adapters import marathon_compat
from ciorch.testing.marathon import MarathonEmulator, MemoryExecutor, TaskSpec

LOCKED = (
    "App is locked by one or more deployments. Override with the option '?force=true'. "
    "View details at '/v2/deployments/{}'."
)


@pytest.fixture
def emu() -> Iterator[MarathonEmulator]:
    with MarathonEmulator(deployment_seconds=0.05) as emulator:
        yield emulator


@pytest.fixture
def slow() -> Iterator[MarathonEmulator]:
    """Deployments that last long enough to collide with."""
    with MarathonEmulator(deployment_seconds=30) as emulator:
        yield emulator


def client(emu: MarathonEmulator) -> Any:
    return marathon_compat.client(emu.url, timeout=5)


def settled(mc: Any) -> bool:
    return not mc.list_deployments()


def counts(mc: Any, app_id: str) -> tuple[int, int, int, int]:
    app = mc.get_app(app_id)
    return app.tasks_staged, app.tasks_running, app.tasks_healthy, app.tasks_unhealthy


# ------------------------------------------------------------------ asynchrony


def test_create_returns_at_once_then_counts_ramp() -> None:
    with MarathonEmulator(deployment_seconds=0.4) as emu:
        mc = client(emu)
        app = mc.create_app("/ramp", MarathonApp(cmd="sleep 1", instances=3))
        assert (app.tasks_staged, app.tasks_running) == (0, 0)
        wait_for(lambda: counts(mc, "/ramp")[0] == 3)  # staged first
        assert mc.list_deployments()
        wait_for(lambda: counts(mc, "/ramp") == (0, 3, 0, 0))  # no checks: healthy stays 0
        wait_for(lambda: settled(mc))


def test_deployment_list_shape(slow: MarathonEmulator) -> None:
    mc = client(slow)
    mc.create_app("/dep", MarathonApp(cmd="sleep 1"))
    raw = requests.get(f"{slow.url}/v2/deployments", timeout=5).json()
    assert isinstance(raw, list)
    assert len(raw) == 1
    deployment = raw[0]
    assert deployment["affectedApps"] == ["/dep"]
    assert deployment["steps"] == [
        {"actions": [{"action": "StartApplication", "app": "/dep"}]},
        {"actions": [{"action": "ScaleApplication", "app": "/dep"}]},
    ]
    assert deployment["currentActions"][0]["action"] == "ScaleApplication"
    assert (deployment["currentStep"], deployment["totalSteps"]) == (2, 2)
    assert deployment["version"] == mc.get_app("/dep").version
    parsed = mc.list_deployments()[0]
    assert isinstance(parsed, MarathonDeployment)
    assert parsed.id == deployment["id"]
    assert parsed.steps[1].actions[0].action == "ScaleApplication"


def test_config_change_is_a_restart_and_replaces_tasks(emu: MarathonEmulator) -> None:
    mc = client(emu)
    mc.create_app("/r", MarathonApp(cmd="sleep 1", instances=2))
    wait_for(lambda: settled(mc) and counts(mc, "/r")[1] == 2)
    before = {t.id for t in mc.list_tasks("/r")}
    result = mc.update_app("/r", MarathonApp(cmd="sleep 2"))
    actions = [a.action for s in mc.list_deployments()[0].steps for a in s.actions]
    assert actions == ["RestartApplication"]
    wait_for(lambda: settled(mc))
    after = mc.list_tasks("/r")
    assert len(after) == 2
    assert not before & {t.id for t in after}
    assert all(t.version == result["version"] for t in after)


# --------------------------------------------------------------------- locking


def test_change_during_deployment_is_409_locked(slow: MarathonEmulator) -> None:
    mc = client(slow)
    mc.create_app("/l", MarathonApp(cmd="sleep 1"))
    deployment_id = mc.list_deployments()[0].id
    response = requests.put(f"{slow.url}/v2/apps/l", json={"instances": 2}, timeout=5)
    assert response.status_code == 409
    assert response.json() == {
        "message": LOCKED.format(deployment_id),
        "deployments": [{"id": deployment_id}],
    }
    with pytest.raises(ConflictError):
        mc.scale_app("/l", instances=2)
    with pytest.raises(ConflictError):
        mc.delete_app("/l")
    with pytest.raises(ConflictError):
        mc.kill_tasks("/l", scale=True)
    assert mc.get_app("/l").instances == 1


@pytest.mark.parametrize("flag", ["True", "true", "TRUE"])
def test_force_overrides_the_lock(slow: MarathonEmulator, flag: str) -> None:
    mc = client(slow)
    mc.create_app("/f", MarathonApp(cmd="sleep 1"))
    first = mc.list_deployments()[0].id
    response = requests.put(
        f"{slow.url}/v2/apps/f", params={"force": flag}, json={"instances": 2}, timeout=5
    )
    assert response.status_code == 200
    assert [d.id for d in mc.list_deployments()] == [response.json()["deploymentId"]]
    assert first != response.json()["deploymentId"]
    assert mc.get_app("/f").instances == 2
    mc.scale_app("/f", instances=3, force=True)  # the client sends force=True
    assert mc.get_app("/f").instances == 3
    mc.delete_app("/f", force=True)
    with pytest.raises(NotFoundError):
        mc.get_app("/f")


def test_force_false_capitalised_still_locks(slow: MarathonEmulator) -> None:
    mc = client(slow)
    mc.create_app("/ff", MarathonApp(cmd="sleep 1"))
    response = requests.delete(f"{slow.url}/v2/apps/ff", params={"force": "False"}, timeout=5)
    assert response.status_code == 409


# -------------------------------------------------------------------- rollback


def test_delete_deployment_rolls_back_a_scale(slow: MarathonEmulator) -> None:
    mc = client(slow)
    mc.create_app("/rb", MarathonApp(cmd="sleep 1"))
    mc.delete_deployment(mc.list_deployments()[0].id, force=True)
    mc.scale_app("/rb", instances=3)
    scale = mc.list_deployments()[0].id
    result = mc.delete_deployment(scale)
    assert set(result) == {"version", "deploymentId"}
    assert mc.get_app("/rb").instances == 1
    assert [d.id for d in mc.list_deployments()] == [result["deploymentId"]]


def test_delete_deployment_of_a_create_removes_the_app(slow: MarathonEmulator) -> None:
    mc = client(slow)
    mc.create_app("/gone", MarathonApp(cmd="sleep 1"))
    response = requests.delete(
        f"{slow.url}/v2/deployments/{mc.list_deployments()[0].id}", timeout=5
    )
    assert response.status_code == 200
    with pytest.raises(NotFoundError):
        mc.get_app("/gone")


def test_force_delete_deployment_is_202_empty_and_keeps_the_app(slow: MarathonEmulator) -> None:
    mc = client(slow)
    mc.create_app("/k", MarathonApp(cmd="sleep 1", instances=2))
    deployment_id = mc.list_deployments()[0].id
    response = requests.delete(
        f"{slow.url}/v2/deployments/{deployment_id}", params={"force": "true"}, timeout=5
    )
    assert (response.status_code, response.content) == (202, b"")
    assert settled(mc)
    assert mc.get_app("/k").instances == 2
    missing = requests.delete(f"{slow.url}/v2/deployments/nope", timeout=5)
    assert missing.status_code == 404
    with pytest.raises(NotFoundError):
        mc.delete_deployment("nope", force=True)


# ---------------------------------------------------------------------- health


def test_health_checks_decide_healthy_and_unhealthy_counts() -> None:
    sick: set[str] = set()

    def health(spec: TaskSpec, check: dict[str, Any]) -> bool:
        return spec.task_id not in sick

    with MarathonEmulator(deployment_seconds=0.05, health=health, health_interval=0.05) as emu:
        mc = client(emu)
        check = {"protocol": "HTTP", "gracePeriodSeconds": 0, "maxConsecutiveFailures": 0}
        mc.create_app("/hc", MarathonApp(cmd="x", instances=2, health_checks=[check]))
        wait_for(lambda: counts(mc, "/hc") == (0, 2, 2, 0) and settled(mc))
        task = mc.list_tasks("/hc")[0]
        assert task.health_check_results[0].alive is True
        sick.add(task.id)
        wait_for(lambda: counts(mc, "/hc") == (0, 2, 1, 1))
        failing = next(t for t in mc.list_tasks("/hc") if t.id == task.id)
        assert failing.health_check_results[0].alive is False
        assert failing.health_check_results[0].consecutive_failures >= 1


def test_deployment_waits_for_health_and_unhealthy_tasks_are_replaced() -> None:
    healthy = {"now": False}
    with MarathonEmulator(
        deployment_seconds=0.05, health=lambda s, c: healthy["now"], health_interval=0.05
    ) as emu:
        mc = client(emu)
        check = {"protocol": "TCP", "gracePeriodSeconds": 0, "maxConsecutiveFailures": 2}
        mc.create_app("/w", MarathonApp(cmd="x", health_checks=[check], backoff_seconds=0))
        wait_for(lambda: mc.get_app("/w").last_task_failure is not None)
        failure = mc.get_app("/w").last_task_failure
        assert failure.state == "TASK_KILLED"
        assert mc.list_deployments()  # still waiting for health
        healthy["now"] = True
        wait_for(lambda: settled(mc) and counts(mc, "/w") == (0, 1, 1, 0))


# ----------------------------------------------------------------------- tasks


def test_task_shape_and_wrappers(emu: MarathonEmulator) -> None:
    mc = client(emu)
    mc.create_app("/t", MarathonApp(cmd="sleep 1", instances=2))
    wait_for(lambda: settled(mc))
    raw = requests.get(f"{emu.url}/v2/tasks", timeout=5).json()
    assert list(raw) == ["tasks"]
    assert len(raw["tasks"]) == 2
    task = raw["tasks"][0]
    for key in (
        "id",
        "appId",
        "host",
        "slaveId",
        "state",
        "stagedAt",
        "startedAt",
        "version",
        "ports",
        "ipAddresses",
        "healthCheckResults",
    ):
        assert key in task
    assert list(requests.get(f"{emu.url}/v2/apps/t/tasks", timeout=5).json()) == ["tasks"]
    assert len(mc.list_tasks("/t")) == 2
    with pytest.raises(NotFoundError):
        mc.list_tasks("/none")


def test_kill_task_answers_task_and_marathon_replaces_it(emu: MarathonEmulator) -> None:
    mc = client(emu)
    mc.create_app("/kt", MarathonApp(cmd="sleep 1", instances=2))
    wait_for(lambda: settled(mc) and len(mc.list_tasks("/kt")) == 2)
    victim = mc.list_tasks("/kt")[0]
    killed = mc.kill_task("/kt", victim.id)
    assert killed.id == victim.id
    wait_for(lambda: victim.id not in {t.id for t in mc.list_tasks("/kt")})
    wait_for(lambda: counts(mc, "/kt")[1] == 2)
    with pytest.raises(NotFoundError):
        mc.kill_task("/kt", victim.id)
    with pytest.raises(NotFoundError):
        mc.kill_task("/nope", victim.id)


def test_kill_task_with_scale_answers_deployment(emu: MarathonEmulator) -> None:
    mc = client(emu)
    mc.create_app("/ks", MarathonApp(cmd="sleep 1", instances=3))
    wait_for(lambda: settled(mc) and len(mc.list_tasks("/ks")) == 3)
    victim = mc.list_tasks("/ks")[0]
    result = mc.kill_task("/ks", victim.id, scale=True)
    assert set(result) == {"version", "deploymentId"}
    assert mc.get_app("/ks").instances == 2
    wait_for(lambda: settled(mc))
    assert victim.id not in {t.id for t in mc.list_tasks("/ks")}
    assert len(mc.list_tasks("/ks")) == 2


def test_kill_tasks_of_app_and_kill_given_tasks(emu: MarathonEmulator) -> None:
    mc = client(emu)
    mc.create_app("/kk", MarathonApp(cmd="sleep 1", instances=2))
    mc.create_app("/kg", MarathonApp(cmd="sleep 1", instances=3))
    wait_for(lambda: settled(mc) and len(mc.list_tasks()) == 5)
    killed = mc.kill_tasks("/kk")
    assert len(killed) == 2
    assert mc.get_app("/kk").instances == 2  # no scale: replaced
    doomed = [t.id for t in mc.list_tasks("/kg")[:2]]
    assert mc.kill_given_tasks(doomed, scale=True) is True
    assert mc.get_app("/kg").instances == 1
    wait_for(lambda: settled(mc) and len(mc.list_tasks("/kg")) == 1)
    raw = requests.post(
        f"{emu.url}/v2/tasks/delete", params={"scale": "False"}, json={"ids": ["nope"]}, timeout=5
    )
    assert raw.status_code == 200
    assert raw.json() == {"tasks": []}


def test_kill_given_tasks_with_scale_is_locked(slow: MarathonEmulator) -> None:
    mc = client(slow)
    mc.create_app("/kl", MarathonApp(cmd="sleep 1", instances=2))
    wait_for(lambda: mc.list_tasks("/kl"))
    with pytest.raises(ConflictError):
        mc.kill_given_tasks([mc.list_tasks("/kl")[0].id], scale=True)
    assert mc.kill_given_tasks([mc.list_tasks("/kl")[0].id], scale=True, force=True)


def test_failed_task_sets_last_task_failure_and_is_restarted(emu: MarathonEmulator) -> None:
    mc = client(emu)
    mc.create_app("/crash", MarathonApp(cmd="sleep 1", backoff_seconds=0))
    wait_for(lambda: settled(mc))
    task = mc.list_tasks("/crash")[0]
    executor = emu.executor
    assert isinstance(executor, MemoryExecutor)
    executor.fail(task.id, "Command exited with status 3")
    wait_for(lambda: mc.get_app("/crash").last_task_failure is not None)
    failure = mc.get_app("/crash").last_task_failure
    assert (failure.task_id, failure.state, failure.message) == (
        task.id,
        "TASK_FAILED",
        "Command exited with status 3",
    )
    assert failure.timestamp is not None
    wait_for(lambda: [t.id for t in mc.list_tasks("/crash")] not in ([], [task.id]))
    wait_for(lambda: counts(mc, "/crash")[1] == 1)


def test_health_deadline_leaves_the_deployment_running() -> None:
    with MarathonEmulator(
        deployment_seconds=0.05,
        health=lambda s, c: False,
        health_interval=0.05,
        health_deadline=0.3,
    ) as emu:
        mc = client(emu)
        check = {"protocol": "TCP", "gracePeriodSeconds": 0, "maxConsecutiveFailures": 1}
        mc.create_app("/never", MarathonApp(cmd="x", health_checks=[check], backoff_seconds=0))
        wait_for(lambda: mc.get_app("/never").last_task_failure is not None)
        # After the deadline the emulator stops replacing the task: it stays, unhealthy,
        # and the deployment stays listed (Marathon would keep trying).
        wait_for(lambda: counts(mc, "/never") == (0, 1, 0, 1), timeout=5)
        survivor = mc.list_tasks("/never")[0].id
        failure = mc.get_app("/never").last_task_failure.task_id
        wait_for(
            lambda: mc.list_tasks("/never")[0].health_check_results[0].consecutive_failures > 3
        )
        assert mc.list_tasks("/never")[0].id == survivor
        assert mc.get_app("/never").last_task_failure.task_id == failure
        assert [d.affected_apps for d in mc.list_deployments()] == [["/never"]]
