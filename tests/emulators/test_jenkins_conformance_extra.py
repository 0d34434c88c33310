"""Jenkins emulator: API.md rows the other suites left open (see CONFORMANCE.md): queue item
fields per state and listing order, composite why texts, node and label details, executors,
running build fields, the agent jar and the JNLP arguments, password parameters, swarm nodes."""

# Fixtures are imported from _jenkins_kit (no conftest here), so parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from typing import Any

import jenkins
import pytest
from _jenkins_kit import (  # noqa: F401
    ADMIN,
    agent_call,
    client,
    emu,
    executable,
    finished,
    freestyle,
    jnlp_secret,
    raw,
)
from _wait import wait_for

from ciorch.testing.jenkins import JenkinsEmulator, VirtualAgent
from ciorch.testing.jenkins.model import Build, Node
from ciorch.testing.jenkins.queue_logic import update_item
from ciorch.testing.jenkins.state import JenkinsState

COMMON_ITEM_KEYS = {
    "_class",
    "actions",
    "blocked",
    "buildable",
    "id",
    "inQueueSince",
    "params",
    "stuck",
    "task",
    "url",
    "why",
}


def swarm_form(**form: str) -> dict[str, str]:
    return {
        "name": "sw",
        "executors": "1",
        "remoteFsRoot": "/home/jenkins",
        "description": "",
        "labels": "pool",
        "mode": "NORMAL",
        "hash": "",
        "deleteExistingClients": "false",
        "keepDisconnectedClients": "false",
        **form,
    }


@pytest.fixture
def patient() -> Iterator[JenkinsEmulator]:
    """HTTP agents here never poll: a long heartbeat timeout keeps them connected."""
    with JenkinsEmulator(admin=ADMIN, agent_timeout=60) as emulator:
        yield emulator


# ----------------------------------------------------------------------- queue items


def test_queue_item_fields_and_listing_order(patient: JenkinsEmulator) -> None:
    """API.md "Queue item" and C6: each state's extra fields; /queue lists waiting,
    blocked, buildable, then pending items."""
    client = jenkins.Jenkins(patient.url, *ADMIN, timeout=5)
    # pending: assigned to an HTTP agent's executor that has not started it yet
    client.create_node("n", labels="l", launcher=jenkins.LAUNCHER_JNLP)
    agent_call(patient, "connect", name="n", secret=jnlp_secret(patient, "n"))
    client.create_job("p", freestyle(label="l"))
    pending = client.build_job("p")
    wait_for(lambda: client.get_queue_item(pending).get("pending"))
    # blocked: a non-concurrent job whose build runs
    VirtualAgent.create(patient, "v", labels="v")
    client.create_job("serial", freestyle(label="v", seconds=30))
    executable(client, client.build_job("serial"))
    blocked = client.build_job("serial")
    wait_for(lambda: client.get_queue_item(blocked)["blocked"])
    # buildable: no node has the label
    client.create_job("b", freestyle(label="nowhere"))
    buildable = client.build_job("b")
    wait_for(lambda: client.get_queue_item(buildable)["buildable"])
    # waiting: in its quiet period
    client.create_job("w", freestyle())
    answer = raw(patient, "POST", "job/w/build?delay=60sec")
    waiting = int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    queue = raw(patient, "GET", "queue/api/json").json()
    assert queue["_class"] == "hudson.model.Queue"
    assert [i["id"] for i in queue["items"]] == [waiting, blocked, buildable, pending]
    assert [i["id"] for i in client.get_queue_info()] == [waiting, blocked, buildable, pending]

    extra = {
        waiting: {"timestamp"},
        blocked: {"buildableStartMilliseconds"},
        buildable: {"buildableStartMilliseconds", "pending"},
        pending: {"buildableStartMilliseconds", "pending"},
    }
    for item_id, keys in extra.items():
        item = client.get_queue_item(item_id)
        assert set(item) == COMMON_ITEM_KEYS | keys, item_id
        assert item["url"] == f"queue/item/{item_id}/"
        assert set(item["task"]) == {"_class", "name", "url", "color"}
    assert client.get_queue_item(pending)["pending"] is True
    assert client.get_queue_item(buildable)["pending"] is False
    assert client.get_queue_item(waiting)["why"].startswith("In the quiet period. Expires in ")

    client.cancel_queue(waiting)
    left = client.get_queue_item(waiting)
    assert set(left) == COMMON_ITEM_KEYS | {"cancelled", "executable"}
    assert (left["why"], left["cancelled"], left["executable"]) == (None, True, None)


def test_password_parameter_is_masked_in_params(client: Any) -> None:
    """C1: params is "\\nname=value" per parameter, passwords "name=****"."""
    password = (
        "<hudson.model.PasswordParameterDefinition><name>PW</name>"
        "<defaultValue>dflt</defaultValue></hudson.model.PasswordParameterDefinition>"
    )
    xml = freestyle(params={"A": "1"}).replace(
        "</parameterDefinitions>", password + "</parameterDefinitions>"
    )
    client.create_job("pw", xml)
    item = client.get_queue_item(client.build_job("pw", {"A": "x", "PW": "hunter2"}))
    assert item["params"] == "\nA=x\nPW=****"
    parameters = item["actions"][0]["parameters"]
    assert parameters[0] == {
        "_class": "hudson.model.StringParameterValue",
        "name": "A",
        "value": "x",
    }
    assert parameters[1]["name"] == "PW"
    assert "hunter2" not in str(item)


def test_left_items_are_kept_five_minutes_by_default() -> None:
    """C6: fixed 5 min retention (Queue.leftItems, expireAfterWrite 300 s)."""
    assert JenkinsEmulator(admin=ADMIN).state.left_retention == 300.0


# ------------------------------------------------------------------- why texts (C3)


def test_unlabeled_item_joins_idle_nodes_reasons(emu: JenkinsEmulator, client: Any) -> None:
    """C3: with idle nodes that cannot take it, the reasons joined by "; " (max 5, then
    "; ... and N more"); with nothing idle only "Waiting for next available executor"."""
    for n in range(7):
        VirtualAgent.create(emu, f"ex{n}", labels="special", mode="EXCLUSIVE")
    client.create_job("free", freestyle())
    queue_id = client.build_job("free")
    reasons = "; ".join(
        f"‘ex{n}’ is reserved for jobs with matching label expression" for n in range(5)
    )
    wait_for(lambda: client.get_queue_item(queue_id)["why"] == reasons + "; ... and 2 more")
    assert client.get_queue_item(queue_id)["stuck"] is False


def test_unlabeled_item_waits_when_nothing_is_idle(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "only")
    client.create_job("long", freestyle(seconds=30))
    client.create_job("next", freestyle())
    executable(client, client.build_job("long"))
    queue_id = client.build_job("next")
    wait_for(
        lambda: client.get_queue_item(queue_id)["why"] == "Waiting for next available executor"
    )


# ---------------------------------------------------------------------- nodes (A, C2)


def test_agent_computer_shape_has_no_mode(emu: JenkinsEmulator, client: Any) -> None:
    """A "Node" and C3: SlaveComputer, no `mode` in /computer JSON (read it from /label)."""
    client.create_node("m", labels="x", exclusive=True, launcher=jenkins.LAUNCHER_JNLP)
    info = client.get_node_info("m")
    assert info["_class"] == "hudson.slaves.SlaveComputer"
    assert "mode" not in info
    assert info["description"] == ""
    assert info["displayName"] == "m"
    assert info["loadStatistics"] == {"_class": "hudson.model.Label$1"}
    nodes = raw(emu, "GET", "label/m/api/json?tree=nodes[nodeName,mode]").json()["nodes"]
    assert nodes == [{"_class": "hudson.slaves.DumbSlave", "nodeName": "m", "mode": "EXCLUSIVE"}]


def test_executors_numbered_with_depth_one_fields(emu: JenkinsEmulator, client: Any) -> None:
    """C5: n executors numbered 0..n-1; `idle` only when all are; C2: progress -1 without an
    estimate, a finished build frees the executor under the same number."""
    VirtualAgent.create(emu, "three", executors=3)
    idle = client.get_node_info("three", depth=1)["executors"]
    assert [e["number"] for e in idle] == [0, 1, 2]
    assert all(e["idle"] and e["currentExecutable"] is None for e in idle)
    assert all(e["progress"] == -1 and e["likelyStuck"] is False for e in idle)
    client.create_job("j", freestyle(seconds=0.3))
    executable(client, client.build_job("j"))
    busy = client.get_node_info("three", depth=1)
    if not busy["idle"]:  # the 0.3 s build may already be over
        running = [e for e in busy["executors"] if not e["idle"]]
        assert running[0]["progress"] == -1
    finished(client, "j", 1)
    after = client.get_node_info("three", depth=1)
    assert after["idle"] is True
    assert [e["number"] for e in after["executors"]] == [0, 1, 2]


def test_toggle_offline_without_message(emu: JenkinsEmulator, client: Any) -> None:
    """C2: description "Disconnected by USER" without ": msg", reason "", a timestamp."""
    VirtualAgent.create(emu, "t")
    client.disable_node("t")  # python-jenkins sends offlineMessage=""
    deep = client.get_node_info("t", depth=1)
    assert deep["offlineCause"]["_class"] == "hudson.slaves.OfflineCause$UserCause"
    assert deep["offlineCause"]["description"] == "Disconnected by admin"
    assert isinstance(deep["offlineCause"]["timestamp"], int)
    assert deep["offlineCauseReason"] == ""
    assert client.get_node_info("t")["offlineCause"] == {
        "_class": "hudson.slaves.OfflineCause$UserCause"
    }


def test_toggle_offline_of_a_disconnected_node_flips_only_the_flag(
    emu: JenkinsEmulator, client: Any
) -> None:
    """Item 6: offline = temporarilyOffline OR disconnected; toggleOffline flips only the
    first, so a never-connected node stays offline when toggled back."""
    client.create_node("cold", launcher=jenkins.LAUNCHER_JNLP)
    answer = raw(emu, "POST", "computer/cold/toggleOffline?offlineMessage=parked")
    assert answer.status_code == 302
    info = client.get_node_info("cold")
    assert (info["offline"], info["temporarilyOffline"], info["offlineCauseReason"]) == (
        True,
        True,
        "parked",
    )
    raw(emu, "POST", "computer/cold/toggleOffline")
    info = client.get_node_info("cold")
    assert (info["offline"], info["temporarilyOffline"], info["offlineCause"]) == (
        True,
        False,
        None,
    )


# ------------------------------------------------------------------------ labels (C1)


def test_label_counts_skip_temporarily_offline_nodes(emu: JenkinsEmulator, client: Any) -> None:
    """C1 label table: busy/total online only; idle needs online and accepting tasks;
    loadStatistics is only {_class} at depth 0."""
    VirtualAgent.create(emu, "up", labels="grp", executors=2)
    VirtualAgent.create(emu, "parked", labels="grp", executors=3)
    client.disable_node("parked")
    label = raw(emu, "GET", "label/grp/api/json").json()
    assert (label["totalExecutors"], label["idleExecutors"], label["busyExecutors"]) == (2, 2, 0)
    assert label["offline"] is False
    assert label["loadStatistics"] == {"_class": "hudson.model.Label$1"}
    assert set(label["description"].removeprefix("group of ").split()) == {"parked", "up"}
    client.disable_node("up")
    label = raw(emu, "GET", "label/grp/api/json").json()
    assert (label["totalExecutors"], label["idleExecutors"], label["offline"]) == (0, 0, True)


def test_tied_jobs_are_jobs_whose_label_is_exactly_the_label(
    emu: JenkinsEmulator, client: Any
) -> None:
    """C1: tiedJobs = freestyle jobs whose label is exactly X (canonical `a&&b`), not jobs
    whose expression mentions or matches X."""
    client.create_job("plain", freestyle(label="linux"))
    client.create_job("both", freestyle(label="linux && docker"))
    client.create_job("either", freestyle(label="linux || docker"))

    def tied(expr: str) -> list[str]:
        body = raw(emu, "GET", f"label/{expr}/api/json").json()
        return [job["name"] for job in body["tiedJobs"]]

    assert tied("linux") == ["plain"]
    assert tied("linux&&docker") == ["both"]
    assert tied("linux%20%26%26%20docker") == ["both"]
    assert tied("docker") == []


# ---------------------------------------------------------------------- builds (C6)


def test_running_build_fields(emu: JenkinsEmulator, client: Any) -> None:
    """C6 BUILDING row: building and inProgress true, result null, duration 0, executor set
    (only {_class} at depth 0)."""
    VirtualAgent.create(emu, "a")
    client.create_job("long", freestyle(seconds=30))
    queue_id = client.build_job("long")
    ref = executable(client, queue_id)
    assert ref["url"] == emu.url + "job/long/1/"  # absolute, unlike the item's own url
    running = client.get_build_info("long", 1)
    assert (running["building"], running["inProgress"]) == (True, True)
    assert (running["result"], running["duration"]) == (None, 0)
    assert running["executor"] == {"_class": "hudson.model.Executor"}
    assert running["builtOn"] == "a"
    assert running["queueId"] == queue_id
    assert running["timestamp"] > 0
    client.stop_build("long", 1)
    done = finished(client, "long", 1)
    assert (done["building"], done["inProgress"], done["executor"]) == (False, False, None)
    assert done["duration"] > 0


# -------------------------------------------------------------- inbound agents (A)


def test_agent_jar_and_jnlp_arguments(emu: JenkinsEmulator, client: Any) -> None:
    """A "agent secret" and "Inbound agent": args SECRET, NAME, -url, ROOT_URL; the secret is
    the HMAC-SHA256 of the node name; agent.jar is served at /jnlpJars/agent.jar."""
    jar = raw(emu, "GET", "jnlpJars/agent.jar")
    assert jar.status_code == 200
    assert jar.headers["Content-Type"] == "application/java-archive"
    client.create_node("in", launcher=jenkins.LAUNCHER_JNLP)
    text = raw(emu, "GET", "computer/in/jenkins-agent.jnlp").text
    desc = text.split("<application-desc", 1)[1].split("</application-desc>", 1)[0]
    args = re.findall(r"<argument>([^<]*)</argument>", desc)
    expected = hmac.new(emu.key, b"in", hashlib.sha256).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert args == [expected, "in", "-url", emu.url]


# ------------------------------------------------------------------------ swarm (C4)


def test_swarm_node_is_a_swarm_slave(emu: JenkinsEmulator, client: Any) -> None:
    """C4: the node is hudson.plugins.swarm.SwarmSlave; its computer a SlaveComputer."""
    assert raw(emu, "POST", "plugin/swarm/createSlave", data=swarm_form()).status_code == 200
    nodes = raw(emu, "GET", "label/pool/api/json").json()["nodes"]
    assert nodes == [{"_class": "hudson.plugins.swarm.SwarmSlave", "nodeName": "sw"}]
    assert client.get_node_info("sw")["_class"] == "hudson.slaves.SlaveComputer"
    client.create_node("plain", labels="pool")
    classes = {
        n["nodeName"]: n["_class"] for n in raw(emu, "GET", "label/pool/api/json").json()["nodes"]
    }
    assert classes == {"plain": "hudson.slaves.DumbSlave", "sw": "hudson.plugins.swarm.SwarmSlave"}


def test_swarm_hash_rules(emu: JenkinsEmulator, client: Any) -> None:
    """C4: another hash is another node (no conflict); the same hash while the node is not
    online replaces it (PluginImpl.doCreateSlave only refuses an on-line one)."""

    def create(**form: str) -> Any:
        return raw(emu, "POST", "plugin/swarm/createSlave", data=swarm_form(**form))

    assert create(hash="0000000a").status_code == 200
    assert create(hash="0000000b").status_code == 200
    names = sorted(n["name"] for n in client.get_nodes() if n["name"].startswith("sw-"))
    assert names == ["sw-0000000a", "sw-0000000b"]
    again = create(hash="0000000a", description="second")
    assert again.status_code == 200
    assert again.text.splitlines()[0] == "name=sw-0000000a"
    assert (
        client.get_node_info("sw-0000000a")["description"] == "Swarm agent from 127.0.0.1: second"
    )


def test_stuck_after_ten_estimates_or_a_day() -> None:
    """C1: with an online node, `stuck` turns true after 10 x the estimated duration (at
    least 1 min) or, without an estimate, after 24 h. Driven on the state with a fake clock
    (hours cannot pass in a test)."""
    now = [1_000_000.0]
    state = JenkinsState(clock=lambda: now[0])
    state.add_node(Node("n", 1, label_string="x", connected=True))
    state.create_job("", "j", freestyle(label="x"))
    item, _ = state.trigger("j", None, "admin")
    assert (item.state, item.stuck) == ("buildable", False)
    assert item.why == "Waiting for next available executor on ‘n’"
    now[0] += 24 * 3600 - 1
    update_item(state, item, now[0])
    assert item.stuck is False
    now[0] += 2
    update_item(state, item, now[0])
    assert item.stuck is True

    state.create_job("", "k", freestyle(label="x"))
    state.jobs["k"].builds[1] = Build(
        job="k",
        number=1,
        queue_id=0,
        built_on="n",
        node_name="n",
        executor_number=0,
        params=(),
        timestamp_ms=0,
        estimated_ms=-1,
        started_by="admin",
        state="COMPLETED",
        result="SUCCESS",
        duration_ms=1000,  # estimate 1 s: the 1 min floor applies, so 10 min
    )
    other, _ = state.trigger("k", None, "admin")
    now[0] += 599
    update_item(state, other, now[0])
    assert other.stuck is False
    now[0] += 2
    update_item(state, other, now[0])
    assert other.stuck is True


def test_left_items_are_lost_on_restart(emu: JenkinsEmulator, client: Any) -> None:
    """C6: left items live in memory only; a restart forgets them (live items are kept)."""
    client.create_job("r", freestyle(label="nowhere"))
    cancelled = client.build_job("r")
    client.cancel_queue(cancelled)
    live = client.build_job("r")
    emu.restart(keep_state=True)
    fresh = jenkins.Jenkins(emu.url, *ADMIN, timeout=5)
    assert raw(emu, "GET", f"queue/item/{cancelled}/api/json").status_code == 404
    assert fresh.get_queue_item(live)["buildable"] is True
