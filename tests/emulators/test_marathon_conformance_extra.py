"""Marathon emulator: API.md section B rows the other suites left open (see CONFORMANCE.md):
no deployment by id, the deployment limit (403), enumerated fields, docker fields, the
client's update/kill calls, timestamps and the JSON content type of error bodies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from _wait import wait_for
from marathon import MarathonApp, MarathonClient
from marathon.exceptions import ConflictError, MarathonHttpError, NotFoundError

from ciorch.adapters import marathon_compat
from ciorch.testing.marathon import MarathonEmulator
from ciorch.testing.marathon.state import too_many_deployments

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def emu() -> Iterator[MarathonEmulator]:
    with MarathonEmulator(deployment_seconds=0.05) as emulator:
        yield emulator


@pytest.fixture
def slow() -> Iterator[MarathonEmulator]:
    with MarathonEmulator(deployment_seconds=30, max_running_deployments=2) as emulator:
        yield emulator


def client(emu: MarathonEmulator) -> Any:
    return marathon_compat.client(emu.url, timeout=5)


def _post(emu: MarathonEmulator, body: Any) -> requests.Response:
    return requests.post(f"{emu.url}/v2/apps", json=body, timeout=5)


# ------------------------------------------------------------------ deployments


def test_no_deployment_by_id_filter_the_list(slow: MarathonEmulator) -> None:
    """B get_deployment: no client method, no GET /v2/deployments/{id}."""
    assert not hasattr(MarathonClient, "get_deployment")
    mc = client(slow)
    created = _post(slow, {"id": "/d", "cmd": "sleep 1"})
    deployment_id = created.headers["Marathon-Deployment-Id"]
    answer = requests.get(f"{slow.url}/v2/deployments/{deployment_id}", timeout=5)
    assert answer.status_code != 200
    assert [d.id for d in mc.list_deployments() if d.id == deployment_id] == [deployment_id]


def test_too_many_deployments_is_403(slow: MarathonEmulator) -> None:
    """B error bodies: too many deployments 403 (--max_running_deployments, 2 here); force
    still goes ahead; a rollback is a deployment too."""
    mc = client(slow)
    mc.create_app("/a", MarathonApp(cmd="sleep 1"))
    mc.create_app("/b", MarathonApp(cmd="sleep 1"))
    answer = _post(slow, {"id": "/c", "cmd": "sleep 1"})
    assert answer.status_code == 403
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {"message": too_many_deployments(2)}
    assert answer.json()["message"].startswith("Max number (2) of running deployments")
    with pytest.raises(MarathonHttpError) as info:
        mc.create_app("/c", MarathonApp(cmd="sleep 1"))
    assert info.value.status_code == 403
    with pytest.raises(MarathonHttpError):
        mc.delete_deployment(mc.list_deployments()[0].id)  # the rollback would be a third
    forced = requests.put(
        f"{slow.url}/v2/apps/a", params={"force": "true"}, json={"instances": 2}, timeout=5
    )
    assert forced.status_code == 200
    mc.delete_deployment(mc.list_deployments()[0].id, force=True)  # 202: no new deployment
    assert len(mc.list_deployments()) == 1
    assert _post(slow, {"id": "/c", "cmd": "sleep 1"}).status_code == 201


def test_client_update_during_deployment_is_conflict(slow: MarathonEmulator) -> None:
    """B update_app: the client sends force=False; locked -> 409 ConflictError."""
    mc = client(slow)
    mc.create_app("/u", MarathonApp(cmd="sleep 1"))
    with pytest.raises(ConflictError):
        mc.update_app("/u", MarathonApp(cmd="sleep 2"))
    result = mc.update_app("/u", MarathonApp(cmd="sleep 2"), force=True)
    assert set(result) == {"version", "deploymentId"}
    assert mc.get_app("/u").cmd == "sleep 2"


# ------------------------------------------------------------------ app fields


@pytest.mark.parametrize("op", ["UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS"])
def test_constraint_operators_are_accepted(emu: MarathonEmulator, op: str) -> None:
    constraint = ["hostname", op] if op == "UNIQUE" else ["hostname", op, "2"]
    answer = _post(emu, {"id": "/c", "cmd": "x", "constraints": [constraint]})
    assert answer.status_code == 201
    assert client(emu).get_app("/c").constraints[0].operator == op


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"constraints": [["hostname", "BOGUS"]]}, "/constraints(0)(1)"),
        ({"healthChecks": [{"protocol": "GOPHER"}]}, "/healthChecks(0)/protocol"),
        ({"networks": [{"mode": "overlay"}]}, "/networks(0)/mode"),
        ({"container": {"type": "RKT", "docker": {"image": "i"}}}, "/container/type"),
    ],
)
def test_unknown_enum_values_are_422(emu: MarathonEmulator, body: Any, path: str) -> None:
    answer = _post(emu, {"id": "/e", "cmd": "x", **body})
    assert answer.status_code == 422
    assert answer.headers["Content-Type"].startswith("application/json")
    details = answer.json()["details"]
    assert [d["path"] for d in details] == [path]


@pytest.mark.parametrize(
    "protocol", ["HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"]
)
def test_health_check_protocols_are_accepted(emu: MarathonEmulator, protocol: str) -> None:
    check: dict[str, Any] = {"protocol": protocol, "gracePeriodSeconds": 5}
    if protocol == "COMMAND":
        check["command"] = {"value": "true"}
    answer = _post(emu, {"id": "/h", "cmd": "x", "healthChecks": [check]})
    assert answer.status_code == 201, answer.text
    assert client(emu).get_app("/h").health_checks[0].protocol == protocol


def test_docker_fields_and_bridge_port_mappings_round_trip(emu: MarathonEmulator) -> None:
    body = {
        "id": "/dk",
        "container": {
            "type": "DOCKER",
            "docker": {
                "image": "local/debian:bookworm",
                "forcePullImage": True,
                "privileged": False,
                "parameters": [{"key": "init", "value": "true"}],
            },
            "portMappings": [{"containerPort": 8080, "hostPort": 0, "name": "http"}],
            "volumes": [{"containerPath": "/data", "hostPath": "/tmp", "mode": "RW"}],
        },
        "networks": [{"mode": "container/bridge"}],
    }
    assert _post(emu, body).status_code == 201
    raw = requests.get(f"{emu.url}/v2/apps/dk", timeout=5).json()["app"]
    docker = raw["container"]["docker"]
    assert (docker["forcePullImage"], docker["privileged"]) == (True, False)
    assert docker["parameters"] == [{"key": "init", "value": "true"}]
    assert "network" not in docker
    assert raw["networks"] == [{"mode": "container/bridge"}]
    app = client(emu).get_app("/dk")
    assert app.container.type == "DOCKER"
    assert app.container.port_mappings[0].container_port == 8080
    assert app.container.volumes[0].container_path == "/data"


def test_task_and_version_timestamps(emu: MarathonEmulator) -> None:
    """B: timestamps YYYY-MM-DDTHH:MM:SS.mmmZ (version, versionInfo, stagedAt, startedAt)."""
    mc = client(emu)
    mc.create_app("/ts", MarathonApp(cmd="sleep 1"))
    wait_for(lambda: mc.get_app("/ts").tasks_running == 1)
    raw = requests.get(f"{emu.url}/v2/apps/ts", timeout=5).json()["app"]
    stamps = [raw["version"], *raw["versionInfo"].values()]
    stamps += [raw["tasks"][0]["stagedAt"], raw["tasks"][0]["startedAt"]]
    assert all(TIMESTAMP.match(s) for s in stamps), stamps


# ------------------------------------------------------------------ tasks


def test_kill_task_with_wipe_and_kill_tasks_of_missing_app(emu: MarathonEmulator) -> None:
    """B kill_task: DELETE ...?scale=False&wipe=True answers {"task"}; kill_tasks 404."""
    mc = client(emu)
    mc.create_app("/kw", MarathonApp(cmd="sleep 1"))
    wait_for(lambda: mc.list_tasks("/kw") and not mc.list_deployments())
    task = mc.list_tasks("/kw")[0]
    assert mc.kill_task("/kw", task.id, wipe=True).id == task.id
    with pytest.raises(NotFoundError):
        mc.kill_tasks("/missing")
    answer = requests.delete(f"{emu.url}/v2/apps/missing/tasks", timeout=5)
    assert answer.status_code == 404
    assert answer.json() == {"message": "App '/missing' does not exist"}
