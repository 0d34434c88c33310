"""Marathon emulator, apps: CRUD, shapes, validation and error bodies (API.md section B),
driven through the real marathon 0.13.0 client (with ciorch's shim) and raw requests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from _wait import wait_for
from marathon import MarathonApp
from marathon.exceptions import ConflictError, MarathonHttpError, NotFoundError

from ciorch.adapters import marathon_compat
from ciorch.testing.marathon import MarathonEmulator, MemoryExecutor

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def emu() -> Iterator[MarathonEmulator]:
    with MarathonEmulator(deployment_seconds=0.05) as emulator:
        yield emulator


@pytest.fixture
def mc(emu: MarathonEmulator) -> Any:
    return marathon_compat.client(emu.url, timeout=5)


def settled(mc: Any) -> bool:
    return not mc.list_deployments()


# ------------------------------------------------------------------------ create


def test_create_answers_201_with_headers_counts_and_deployment(emu: MarathonEmulator) -> None:
    response = requests.post(f"{emu.url}/v2/apps", json={"id": "web", "cmd": "sleep 1"}, timeout=5)
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Location"] == f"{emu.url}/v2/apps/web"
    body = response.json()
    assert body["id"] == "/web"
    assert {
        k: body[k] for k in ("tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy")
    } == {
        "tasksStaged": 0,
        "tasksRunning": 0,
        "tasksHealthy": 0,
        "tasksUnhealthy": 0,
    }
    assert body["deployments"] == [{"id": response.headers["Marathon-Deployment-Id"]}]


def test_create_through_client_fills_marathon_defaults(mc: Any) -> None:
    app = mc.create_app("/grp/app", MarathonApp(cmd="sleep 300"))
    assert isinstance(app, MarathonApp)
    assert (app.id, app.instances, app.cpus, app.mem, app.disk) == ("/grp/app", 1, 1, 128, 0)
    assert (app.backoff_seconds, app.backoff_factor, app.max_launch_delay_seconds) == (1, 1.15, 300)
    assert app.upgrade_strategy.minimum_health_capacity == 1
    assert app.upgrade_strategy.maximum_over_capacity == 1
    assert app.networks == [{"mode": "host"}]
    assert TIMESTAMP.match(app.version)
    assert app.version_info.last_config_change_at is not None
    assert len(app.deployments) == 1


def test_create_existing_is_409_with_exact_message(mc: Any, emu: MarathonEmulator) -> None:
    mc.create_app("/dup", MarathonApp(cmd="sleep 1"))
    response = requests.post(f"{emu.url}/v2/apps", json={"id": "/dup", "cmd": "x"}, timeout=5)
    assert response.status_code == 409
    assert response.json() == {"message": "An app with id [/dup] already exists."}
    with pytest.raises(ConflictError):
        mc.create_app("/dup", MarathonApp(cmd="sleep 1"))


def test_answers_parse_with_every_model_and_omit_unset_fields(
    mc: Any, emu: MarathonEmulator
) -> None:
    """A definition using most schema fields comes back parseable by the 0.13.0 models
    (they raise TypeError on unknown keys) and without docker.network or nulls."""
    body = {
        "id": "/full",
        "args": ["sleep", "300"],
        "instances": 1,
        "cpus": 0.5,
        "mem": 64,
        "disk": 10,
        "env": {"A": "1"},
        "labels": {"team": "a"},
        "constraints": [["hostname", "UNIQUE"]],
        "container": {
            "type": "DOCKER",
            "docker": {"image": "local/debian:bookworm", "network": "HOST", "parameters": []},
            "volumes": [{"containerPath": "/data", "hostPath": "/tmp", "mode": "RO"}],
        },
        "healthChecks": [{"protocol": "COMMAND", "command": {"value": "true"}}],
        "readinessChecks": [],
        "fetch": [{"uri": "http://example.invalid/x"}],
        "upgradeStrategy": {"minimumHealthCapacity": 0.5},
        "unreachableStrategy": {"inactiveAfterSeconds": 10, "expungeAfterSeconds": 20},
        "killSelection": "OLDEST_FIRST",
        "taskKillGracePeriodSeconds": 5,
        "secrets": {},
        "executorResources": {},
        "residency": {"taskLostBehavior": "WAIT_FOREVER"},
    }
    assert requests.post(f"{emu.url}/v2/apps", json=body, timeout=5).status_code == 201
    wait_for(lambda: mc.get_app("/full").tasks_running == 1)
    raw = requests.get(f"{emu.url}/v2/apps/full", timeout=5).json()["app"]
    assert "network" not in raw["container"]["docker"]
    assert raw["networks"] == [{"mode": "host"}]
    assert "executorResources" not in raw
    assert raw["upgradeStrategy"] == {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 1}

    def no_nulls(value: Any) -> bool:
        if isinstance(value, dict):
            return all(v is not None and no_nulls(v) for v in value.values())
        if isinstance(value, list):
            return all(no_nulls(v) for v in value)
        return True

    assert no_nulls(raw)
    assert "startedAt" in raw["tasks"][0]
    app = mc.get_app("/full")  # every model class parses it
    assert app.kill_selection == "OLDEST_FIRST"
    assert app.container.docker.image == "local/debian:bookworm"
    assert app.tasks[0].ip_addresses[0].ip_address == "127.0.0.1"
    assert mc.list_apps(embed_tasks=True, embed_last_task_failure=True)[0].id == "/full"
    assert mc.list_tasks("/full")[0].app_id == "/full"


# --------------------------------------------------------------------------- get


def test_get_missing_is_404_with_exact_body(mc: Any, emu: MarathonEmulator) -> None:
    response = requests.get(f"{emu.url}/v2/apps/nope", timeout=5)
    assert response.status_code == 404
    assert response.json() == {"message": "App '/nope' does not exist"}
    with pytest.raises(NotFoundError):
        mc.get_app("/nope")


def test_get_wraps_app_with_counts_tasks_and_deployments(mc: Any, emu: MarathonEmulator) -> None:
    mc.create_app("/w", MarathonApp(cmd="sleep 1", instances=2))
    raw = requests.get(f"{emu.url}/v2/apps/w", timeout=5).json()
    assert list(raw) == ["app"]
    for key in (
        "tasksStaged",
        "tasksRunning",
        "tasksHealthy",
        "tasksUnhealthy",
        "tasks",
        "deployments",
    ):
        assert key in raw["app"]
    assert "lastTaskFailure" not in raw["app"]  # only when there is one
    wait_for(lambda: settled(mc))
    task = mc.get_app("/w").tasks[0]
    assert task.state == "TASK_RUNNING"
    assert task.host == "127.0.0.1"
    assert task.started_at is not None
    assert task.staged_at is not None


# -------------------------------------------------------------------------- list


def test_list_wraps_apps_and_filters_by_id_cmd_and_label(mc: Any, emu: MarathonEmulator) -> None:
    mc.create_app(
        "/team-a/agents", MarathonApp(cmd="run-agent a", labels={"team": "a", "pool": "x"})
    )
    mc.create_app("/team-b/agents", MarathonApp(cmd="run-agent b", labels={"team": "b"}))
    mc.create_app("/team-b/master", MarathonApp(cmd="jenkins", labels={"team": "b", "kind": "m"}))
    raw = requests.get(f"{emu.url}/v2/apps", timeout=5).json()
    assert list(raw) == ["apps"]
    assert all("tasksRunning" in a and "deployments" in a for a in raw["apps"])
    assert all("tasks" not in a for a in raw["apps"])  # only with embed

    def ids(**kwargs: Any) -> list[str]:
        return sorted(a.id for a in mc.list_apps(**kwargs))

    assert ids(app_id="/team-b/master") == ["/team-b/master"]  # "is"
    assert ids(app_id="agents") == ["/team-a/agents", "/team-b/agents"]  # "contains"
    assert ids(cmd="run-agent") == ["/team-a/agents", "/team-b/agents"]
    assert ids(label="team==b") == ["/team-b/agents", "/team-b/master"]
    assert ids(label="team!=b") == ["/team-a/agents"]
    assert ids(label="kind") == ["/team-b/master"]
    assert ids(label="team in (a,b),pool") == ["/team-a/agents"]
    assert ids(label="team notin (a)") == ["/team-b/agents", "/team-b/master"]
    embedded = requests.get(f"{emu.url}/v2/apps", params={"embed": "apps.tasks"}, timeout=5)
    assert all("tasks" in a for a in embedded.json()["apps"])


def test_list_with_bad_selector_is_400(emu: MarathonEmulator) -> None:
    response = requests.get(f"{emu.url}/v2/apps", params={"label": "a in b"}, timeout=5)
    assert response.status_code == 400
    assert "message" in response.json()


# ------------------------------------------------------------------------ update


def test_partial_update_merges_and_answers_version_and_deployment(mc: Any) -> None:
    mc.create_app("/u", MarathonApp(cmd="sleep 1", labels={"a": "1"}, mem=64))
    wait_for(lambda: settled(mc))
    result = mc.update_app("/u", MarathonApp(labels={"b": "2"}))
    assert set(result) == {"version", "deploymentId"}
    app = mc.get_app("/u")
    assert app.labels == {"b": "2"}  # top-level fields replace
    assert (app.cmd, app.mem) == ("sleep 1", 64)  # others kept
    assert app.version == result["version"]


def test_put_missing_app_creates_it_with_201(emu: MarathonEmulator, mc: Any) -> None:
    response = requests.put(f"{emu.url}/v2/apps/new", json={"cmd": "sleep 1"}, timeout=5)
    assert response.status_code == 201
    assert set(response.json()) == {"version", "deploymentId"}
    assert mc.get_app("/new").cmd == "sleep 1"


def test_scale_app_puts_to_double_slash_path(mc: Any) -> None:
    mc.create_app("/grp/s", MarathonApp(cmd="sleep 1", instances=1))
    wait_for(lambda: settled(mc))
    result = mc.scale_app("/grp/s", instances=3)  # PUT /v2/apps//grp/s
    assert "deploymentId" in result
    wait_for(lambda: mc.get_app("/grp/s").tasks_running == 3)
    wait_for(lambda: settled(mc))
    mc.scale_app("/grp/s", delta=-2)
    wait_for(lambda: len(mc.list_tasks("/grp/s")) == 1)
    assert mc.get_app("/grp/s").instances == 1
    assert mc.scale_app("/grp/missing", instances=1) is None


def test_scale_is_scaling_not_config_change(mc: Any) -> None:
    mc.create_app("/v", MarathonApp(cmd="sleep 1"))
    wait_for(lambda: settled(mc))
    before = mc.get_app("/v")
    mc.scale_app("/v", instances=2)
    after = mc.get_app("/v")
    assert after.version > before.version
    assert after.version_info.last_config_change_at == before.version_info.last_config_change_at
    assert after.version_info.last_scaling_at > before.version_info.last_scaling_at


def test_negative_instances_is_422(mc: Any) -> None:
    mc.create_app("/n", MarathonApp(cmd="sleep 1"))
    wait_for(lambda: settled(mc))
    with pytest.raises(MarathonHttpError) as info:
        mc.scale_app("/n", delta=-5)  # not clamped: -4 reaches the server
    assert info.value.status_code == 422
    assert info.value.error_message == "Object is not valid"
    assert info.value.error_details == [
        {"path": "/instances", "errors": ["got -4, expected 0 or more"]}
    ]


# ------------------------------------------------------------------------ delete


def test_delete_is_404_at_once_and_tasks_go_later(mc: Any, emu: MarathonEmulator) -> None:
    mc.create_app("/d", MarathonApp(cmd="sleep 1", instances=2))
    wait_for(lambda: mc.get_app("/d").tasks_running == 2)
    wait_for(lambda: settled(mc))
    result = mc.delete_app("/d")
    assert set(result) == {"version", "deploymentId"}
    with pytest.raises(NotFoundError):
        mc.get_app("/d")
    assert [d.id for d in mc.list_deployments()] == [result["deploymentId"]]
    wait_for(lambda: not mc.list_tasks() and settled(mc))
    with pytest.raises(NotFoundError):
        mc.delete_app("/d")


# -------------------------------------------------------------------- validation


def _post(emu: MarathonEmulator, body: Any) -> requests.Response:
    return requests.post(f"{emu.url}/v2/apps", json=body, timeout=5)


@pytest.mark.parametrize(
    ("body", "path", "error"),
    [
        (
            {"id": "/x"},
            "/",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
        ),
        (
            {"id": "/x", "cmd": "a", "args": ["b"]},
            "/",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
        ),
        ({"id": "/x", "cmd": "a", "instances": -1}, "/instances", "got -1, expected 0 or more"),
        (
            {"id": "/x", "cmd": "a", "upgradeStrategy": {"minimumHealthCapacity": 2}},
            "/upgradeStrategy/minimumHealthCapacity",
            "got 2, expected 1.0 or less",
        ),
        ({"id": "/Bad_Id", "cmd": "a"}, "/id", None),
        ({"id": "/x", "cmd": "a", "unknownField": 1}, "/", None),
    ],
)
def test_invalid_object_is_422_object_is_not_valid(
    emu: MarathonEmulator, body: Any, path: str, error: str | None
) -> None:
    response = _post(emu, body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["message"] == "Object is not valid"
    assert answer["details"][0]["path"] == path
    assert isinstance(answer["details"][0]["errors"], list)
    if error is not None:
        assert answer["details"][0]["errors"] == [error]


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        ({"id": 5, "cmd": "a"}, "/id", "error.expected.jsstring"),
        ({"id": "/x", "cmd": "a", "instances": "two"}, "/instances", "error.expected.jsnumber"),
        (
            {"id": "/x", "cmd": "a", "requirePorts": "yes"},
            "/requirePorts",
            "error.expected.jsboolean",
        ),
        ({"id": "/x", "cmd": "a", "labels": []}, "/labels", "error.expected.jsobject"),
        ({"id": "/x", "cmd": "a", "labels": {"k": 1}}, "/labels/k", "error.expected.jsstring"),
        ({"id": "/x", "cmd": "a", "env": {"K": 1}}, "/env/K", "error.expected.jsstring"),
        ({"id": "/x", "args": "sleep"}, "/args", "error.expected.jsarray"),
        ({"cmd": "a"}, "/id", "error.path.missing"),
    ],
)
def test_wrong_json_types_are_422_invalid_json(
    emu: MarathonEmulator, body: Any, path: str, code: str
) -> None:
    response = _post(emu, body)
    assert response.status_code == 422
    assert response.json() == {
        "message": "Invalid JSON",
        "details": [{"path": path, "errors": [code]}],
    }


def test_malformed_json_is_400(emu: MarathonEmulator) -> None:
    response = requests.post(
        f"{emu.url}/v2/apps",
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Invalid JSON"
    assert isinstance(body["details"], str)
    assert body["details"]


def test_client_sees_422_message_and_details(mc: Any) -> None:
    with pytest.raises(MarathonHttpError) as info:
        mc.create_app("/x", MarathonApp(instances=1))  # neither cmd, args nor container
    assert info.value.status_code == 422
    assert info.value.error_details[0]["path"] == "/"


def test_docker_network_host_becomes_networks(mc: Any, emu: MarathonEmulator) -> None:
    body = {
        "id": "/h",
        "container": {"type": "DOCKER", "docker": {"image": "i", "network": "HOST"}},
    }
    assert _post(emu, body).status_code == 201
    raw = requests.get(f"{emu.url}/v2/apps/h", timeout=5).json()["app"]
    assert raw["networks"] == [{"mode": "host"}]
    assert "network" not in raw["container"]["docker"]
    bridge = {"id": "/b", "container": {"docker": {"image": "i", "network": "BRIDGE"}}}
    assert _post(emu, bridge).status_code == 201
    assert mc.get_app("/b").networks == [{"mode": "container/bridge"}]


def test_mixing_docker_network_and_networks_is_422(emu: MarathonEmulator) -> None:
    body = {
        "id": "/m",
        "container": {"docker": {"image": "i", "network": "HOST"}},
        "networks": [{"mode": "host"}],
    }
    response = _post(emu, body)
    assert response.status_code == 422
    assert response.json()["message"] == "Object is not valid"


def test_host_ports_are_given_to_tasks_and_env(mc: Any, emu: MarathonEmulator) -> None:
    body = {"id": "/p", "cmd": "x", "portDefinitions": [{"port": 0}, {"port": 0, "name": "admin"}]}
    assert _post(emu, body).status_code == 201
    task = wait_for(lambda: mc.list_tasks("/p"))[0]
    assert len(task.ports) == 2
    assert all(31000 <= p < 32000 for p in task.ports)
    app = mc.get_app("/p")
    assert [d.port for d in app.port_definitions] == task.service_ports
    spec = emu.executor.tasks[task.id]  # type: ignore[attr-defined]
    assert spec.env["PORT0"] == str(task.ports[0])
    assert spec.env["PORT1"] == str(task.ports[1])
    assert spec.env["MARATHON_APP_ID"] == "/p"


# ------------------------------------------------------------ other endpoints


def test_restart_replaces_every_task(mc: Any) -> None:
    mc.create_app("/rs", MarathonApp(cmd="sleep 1", instances=2))
    wait_for(lambda: settled(mc) and len(mc.list_tasks("/rs")) == 2)
    before = {t.id for t in mc.list_tasks("/rs")}
    result = mc.restart_app("/rs")
    assert set(result) == {"version", "deploymentId"}
    wait_for(lambda: settled(mc) and len(mc.list_tasks("/rs")) == 2)
    assert not before & {t.id for t in mc.list_tasks("/rs")}
    assert mc.get_app("/rs").version_info.last_config_change_at is not None


def test_task_paths_survive_app_names_containing_tasks(mc: Any) -> None:
    mc.create_app("/tasksapp", MarathonApp(cmd="sleep 1"))
    mc.create_app("/grp/tasks", MarathonApp(cmd="sleep 1"))
    wait_for(lambda: settled(mc) and len(mc.list_tasks()) == 2)
    task = mc.list_tasks("/tasksapp")[0]
    assert mc.kill_task("/tasksapp", task.id).id == task.id
    assert [t.app_id for t in mc.list_tasks("/grp/tasks")] == ["/grp/tasks"]


def test_info_ping_and_queue(mc: Any, emu: MarathonEmulator) -> None:
    info = mc.get_info()
    assert info.name == "marathon"
    assert info.elected is True
    assert mc.ping().strip() == b"pong"
    assert mc.list_queue() == []
    executor = emu.executor
    assert isinstance(executor, MemoryExecutor)
    mc.create_app("/q", MarathonApp(cmd="sleep 1", backoff_seconds=300))
    wait_for(lambda: settled(mc))
    executor.fail(mc.list_tasks("/q")[0].id)
    wait_for(mc.list_queue)
    item = mc.list_queue()[0]
    assert (item.app.id, item.count) == ("/q", 1)
    assert item.delay.time_left_seconds > 0
    mc.reset_delay("/q")  # DELETE /v2/queue//q/delay
    wait_for(lambda: mc.get_app("/q").tasks_running == 1)
    assert mc.list_queue() == []
