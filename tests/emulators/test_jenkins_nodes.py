"""Jenkins emulator: nodes, executors, labels and scheduling (API.md A node rows, C2, C3, C5;
items 4, 6, 7)."""

# Fixtures are imported from _jenkins_kit (no conftest here), so parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import json
from typing import Any

import jenkins
import pytest
import requests
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

from ciorch.testing.jenkins import JenkinsEmulator, VirtualAgent, parse_label
from ciorch.testing.jenkins.model import agent_secret


def create_form(name: str, **json_fields: Any) -> dict[str, str]:
    fields = {
        "nodeDescription": "",
        "numExecutors": 1,
        "remoteFS": "/home/jenkins",
        "labelString": "",
        "mode": "NORMAL",
        "retentionStrategy": {"stapler-class": "hudson.slaves.RetentionStrategy$Always"},
        "nodeProperties": {"stapler-class-bag": "true"},
        "launcher": {"stapler-class": "hudson.slaves.JNLPLauncher"},
        **json_fields,
    }
    return {
        "name": name,
        "type": "hudson.slaves.DumbSlave$DescriptorImpl",
        "json": json.dumps(fields),
    }


@pytest.mark.parametrize(
    ("expression", "labels", "expected"),
    [
        ("a", {"a"}, True),
        ("a", {"b"}, False),
        ("a && b", {"a", "b"}, True),
        ("a && b", {"a"}, False),
        ("a || b", {"b"}, True),
        ("!a", {"b"}, True),
        ("!a", {"a"}, False),
        ("(a || b) && !c", {"b"}, True),
        ("(a || b) && !c", {"b", "c"}, False),
        ("a -> b", {"c"}, True),
        ("a <-> b", {"a"}, False),
        ('"odd label" || x', {"odd label"}, True),
    ],
)
def test_label_expressions(expression: str, labels: set[str], expected: bool) -> None:
    assert parse_label(expression).matches(labels) is expected


def test_canonical_label_form() -> None:
    assert parse_label("a && ( b || c )").canonical() == "a&&(b||c)"
    assert parse_label("!a && b").canonical() == "!a&&b"


def test_create_node_form_redirects_to_computer(emu: JenkinsEmulator, client: Any) -> None:
    answer = raw(emu, "POST", "computer/doCreateItem", data=create_form("n1", numExecutors=2))
    assert answer.status_code == 302
    assert answer.headers["Location"] == emu.url + "computer/"
    assert raw(emu, "GET", "computer/").status_code == 200
    again = raw(emu, "POST", "computer/doCreateItem", data=create_form("n1"))
    assert again.status_code == 400
    assert "Agent called ‘n1’ already exists" in again.text
    assert raw(emu, "POST", "computer/doCreateItem", data=create_form("")).status_code == 400
    client.create_node("n2", numExecutors=3, labels="a b", exclusive=True)
    info = client.get_node_info("n2")
    assert info["numExecutors"] == 3
    assert {lab["name"] for lab in info["assignedLabels"]} == {"a", "b", "n2"}
    with pytest.raises(jenkins.JenkinsException, match="already exists"):
        client.create_node("n2")
    mode = raw(emu, "GET", "label/n2/api/json?tree=nodes[nodeName,mode]").json()
    assert mode["nodes"] == [
        {"_class": "hudson.slaves.DumbSlave", "nodeName": "n2", "mode": "EXCLUSIVE"}
    ]


def test_computer_set_shape(emu: JenkinsEmulator, client: Any) -> None:
    client.create_node("zeta", numExecutors=2)
    VirtualAgent.create(emu, "alpha", executors=3)
    data = raw(emu, "GET", "computer/api/json?depth=0").json()
    assert data["_class"] == "hudson.model.ComputerSet"
    assert data["displayName"] == "Nodes"
    assert "idleExecutors" not in data
    assert data["totalExecutors"] == 3  # zeta is not connected: online computers only
    assert data["busyExecutors"] == 0
    names = [c["displayName"] for c in data["computer"]]
    assert names == ["Built-In Node", "alpha", "zeta"]
    assert data["computer"][0]["_class"] == "hudson.model.Hudson$MasterComputer"
    assert [n["name"] for n in client.get_nodes()] == names
    assert client.get_node_info("Built-In Node")["displayName"] == "Built-In Node"
    assert raw(emu, "GET", "computer/(built-in)/api/json").status_code == 200
    assert client.node_exists("alpha")
    assert not client.node_exists("nope")


def test_node_info_depths(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "n", executors=2)
    client.create_job("j", freestyle(label="n", seconds=30))
    executable(client, client.build_job("j"))
    shallow = client.get_node_info("n", depth=0)
    assert shallow["executors"] == [{"_class": "hudson.model.Executor"}] * 2
    assert shallow["idle"] is False
    deep = client.get_node_info("n", depth=1)
    busy = [e for e in deep["executors"] if not e["idle"]]
    assert busy[0]["currentExecutable"] == {
        "_class": "hudson.model.FreeStyleBuild",
        "number": 1,
        "url": emu.url + "job/j/1/",
    }
    assert {"number", "idle", "progress", "likelyStuck"} <= set(busy[0])
    running = client.get_running_builds()
    assert running == [
        {"name": "j", "number": 1, "url": emu.url + "job/j/1/", "node": "n", "executor": 0}
    ]
    computers = raw(emu, "GET", "computer/api/json").json()
    assert computers["busyExecutors"] == 1
    tree = raw(emu, "GET", "computer/n/api/json?tree=executors[number,idle]").json()
    assert tree["executors"][0] == {"_class": "hudson.model.Executor", "number": 0, "idle": False}


def test_never_connected_node_state(emu: JenkinsEmulator, client: Any) -> None:
    client.create_node("cold", launcher=jenkins.LAUNCHER_JNLP)
    info = client.get_node_info("cold")
    assert info["offline"] is True
    assert info["temporarilyOffline"] is False
    assert info["offlineCause"] is None
    assert info["offlineCauseReason"] == ""
    assert info["idle"] is True
    assert info["jnlpAgent"] is True
    assert info["launchSupported"] is False
    assert "connecting" not in info


def test_toggle_offline_flips_only_the_temporary_flag(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "t", executors=2)
    client.create_job("j", freestyle(label="t", seconds=0.6))
    executable(client, client.build_job("j"))
    answer = raw(emu, "POST", "computer/t/toggleOffline?offlineMessage=maintenance")
    assert answer.status_code == 302
    assert raw(emu, "GET", answer.headers["Location"][len(emu.url) :]).status_code == 200
    info = client.get_node_info("t")
    assert info["offline"] is True
    assert info["temporarilyOffline"] is True
    assert info["offlineCause"] == {"_class": "hudson.slaves.OfflineCause$UserCause"}
    assert info["offlineCauseReason"] == "maintenance"
    deep = client.get_node_info("t", depth=1)["offlineCause"]
    assert deep["description"] == "Disconnected by admin : maintenance"
    computers = raw(emu, "GET", "computer/api/json").json()
    assert computers["totalExecutors"] == 0
    assert computers["busyExecutors"] == 0
    label = raw(emu, "GET", "label/t/api/json").json()
    assert label["totalExecutors"] == 0
    assert label["offline"] is True
    # the build continues; no new work lands
    queue_id = client.build_job("j")
    assert finished(client, "j", 1)["result"] == "SUCCESS"
    assert client.get_queue_item(queue_id)["why"] == "‘t’ is offline"
    client.enable_node("t")
    info = client.get_node_info("t")
    assert (info["offline"], info["temporarilyOffline"], info["offlineCause"]) == (
        False,
        False,
        None,
    )
    assert executable(client, queue_id)["number"] == 2


def test_disable_node_of_a_disconnected_node_sends_nothing(client: Any) -> None:
    client.create_node("d", launcher=jenkins.LAUNCHER_JNLP)
    client.disable_node("d")  # offline already: python-jenkins does not toggle
    assert client.get_node_info("d")["temporarilyOffline"] is False


def test_delete_node(emu: JenkinsEmulator, client: Any) -> None:
    client.create_node("del")
    answer = raw(emu, "POST", "computer/del/doDelete")
    assert answer.status_code == 302
    assert answer.headers["Location"] == emu.url + "computer/"
    assert not client.node_exists("del")
    assert raw(emu, "POST", "computer/del/doDelete").status_code == 404
    client.create_node("del2")
    client.delete_node("del2")
    with pytest.raises(jenkins.JenkinsException, match="does not exist"):
        client.delete_node("del2")


def test_delete_busy_node_fails_its_build(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "busy")
    client.create_job("j", freestyle(label="busy", seconds=30))
    executable(client, client.build_job("j"))
    client.delete_node("busy")
    done = finished(client, "j", 1)
    assert done["result"] == "FAILURE"
    assert "FATAL: no longer a configured node for busy" in client.get_build_console_output("j", 1)


def test_agent_killed_mid_build(emu: JenkinsEmulator, client: Any) -> None:
    agent = VirtualAgent.create(emu, "k")
    client.create_job("j", freestyle(label="k", seconds=30))
    executable(client, client.build_job("j"))
    agent.kill()
    done = finished(client, "j", 1)
    assert done["result"] == "FAILURE"
    console = client.get_build_console_output("j", 1)
    assert "Agent went offline during the build" in console
    assert "ERROR: Connection was broken" in console  # "ERROR: <offline cause>"
    assert console.rstrip().endswith("Finished: FAILURE")
    info = client.get_node_info("k")
    assert info["offline"] is True
    assert info["temporarilyOffline"] is False
    assert info["offlineCause"]["_class"] == "hudson.slaves.OfflineCause$ChannelTermination"
    assert info["offlineCauseReason"] == "Connection was broken"


def test_jnlp_file_carries_the_secret(emu: JenkinsEmulator, client: Any) -> None:
    client.create_node("in", launcher=jenkins.LAUNCHER_JNLP)
    for path in ("jenkins-agent.jnlp", "slave-agent.jnlp"):
        answer = raw(emu, "GET", f"computer/in/{path}")
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("application/x-java-jnlp-file")
        assert "<application-desc" in answer.text
    secret = jnlp_secret(emu, "in")
    assert secret == agent_secret(emu.key, "in")
    args = answer.text.split("<application-desc", 1)[1]
    assert args.index(secret) < args.index("<argument>in</argument>") < args.index("-url")
    assert requests.get(emu.url + "computer/in/jenkins-agent.jnlp", timeout=5).status_code == 403


def test_agent_protocol_connect_rules(emu: JenkinsEmulator, client: Any) -> None:
    client.create_node("p", launcher=jenkins.LAUNCHER_JNLP)
    secret = jnlp_secret(emu, "p")
    assert agent_call(emu, "connect", name="p", secret="0" * 64).status_code == 403
    assert agent_call(emu, "connect", name="ghost", secret=secret).status_code == 400
    assert agent_call(emu, "connect", name="p", secret=secret).status_code == 200
    again = agent_call(emu, "connect", name="p", secret=secret)
    assert again.status_code == 400
    assert "p is already connected to this controller. Rejecting this connection." in again.text
    assert client.get_node_info("p")["offline"] is False
    # no heartbeat: after agent_timeout the node counts as disconnected
    wait_for(lambda: client.get_node_info("p")["offline"], timeout=5)


def test_label_api(emu: JenkinsEmulator, client: Any) -> None:
    unknown = raw(emu, "GET", "label/nothing-here/api/json")
    assert unknown.status_code == 200
    body = unknown.json()
    assert body["nodes"] == []
    assert body["description"] == "invalid label"
    assert body["offline"] is True
    VirtualAgent.create(emu, "l1", labels="linux", executors=2)
    VirtualAgent.create(emu, "l2", labels="linux docker", executors=1)
    client.create_node("l3", labels="linux", launcher=jenkins.LAUNCHER_JNLP)
    client.create_job("tied", freestyle(label="linux"))
    linux = raw(emu, "GET", "label/linux/api/json").json()
    assert sorted(n["nodeName"] for n in linux["nodes"]) == ["l1", "l2", "l3"]
    assert linux["totalExecutors"] == 3
    assert linux["idleExecutors"] == 3
    assert linux["busyExecutors"] == 0
    assert linux["offline"] is False
    assert [j["name"] for j in linux["tiedJobs"]] == ["tied"]
    both = raw(emu, "GET", "label/linux%20%26%26%20docker/api/json").json()
    assert [n["nodeName"] for n in both["nodes"]] == ["l2"]
    assert both["name"] == "linux&&docker"


def test_round_robin_is_not_promised_but_all_nodes_are_used(
    emu: JenkinsEmulator, client: Any
) -> None:
    for n in range(3):
        VirtualAgent.create(emu, f"pool-{n}", labels="pool")
    client.create_job("w", freestyle(label="pool", seconds=30, concurrent=True, params={"N": ""}))
    ids = [client.build_job("w", {"N": str(n)}) for n in range(3)]
    for queue_id in ids:
        executable(client, queue_id)
    nodes = {client.get_build_info("w", n)["builtOn"] for n in (1, 2, 3)}
    assert nodes == {"pool-0", "pool-1", "pool-2"}
