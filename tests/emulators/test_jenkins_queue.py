"""Jenkins emulator: the queue life cycle (API.md A queue rows, C1, C3, C6; items 1, 2)."""

# Fixtures are imported from _jenkins_kit (no conftest here), so parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import re
from collections.abc import Iterator
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

from ciorch.testing.jenkins import JenkinsEmulator, VirtualAgent


def why(client: Any, queue_id: int) -> str:
    return str(client.get_queue_item(queue_id)["why"])


def test_trigger_answers_201_with_queue_location(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("j", freestyle(seconds=0.2))
    answer = raw(emu, "POST", "job/j/build")
    assert answer.status_code == 201
    location = answer.headers["Location"]
    assert re.fullmatch(re.escape(emu.url) + r"queue/item/\d+/", location)
    queue_id = int(location.rstrip("/").rsplit("/", 1)[1])
    # Item 1: a queue id, not a build; the build does not exist yet.
    with pytest.raises(jenkins.JenkinsException, match="does not exist"):
        client.get_build_info("j", 1)
    VirtualAgent.create(emu, "a1")
    ref = executable(client, queue_id)
    assert ref == {
        "_class": "hudson.model.FreeStyleBuild",
        "number": 1,
        "url": emu.url + "job/j/1/",
    }
    item = client.get_queue_item(queue_id)
    assert item["_class"] == "hudson.model.Queue$LeftItem"
    assert item["why"] is None
    assert item["cancelled"] is False
    assert item["url"] == f"queue/item/{queue_id}/"
    assert client.get_build_info("j", 1)["queueId"] == queue_id


def test_duplicate_triggers_merge(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("d", freestyle())
    client.create_job("p", freestyle(params={"A": "1", "B": "2"}))
    first = client.build_job("d")
    assert client.build_job("d") == first
    queued = client.build_job("p", {"A": "x"})
    answer = raw(emu, "POST", "job/p/buildWithParameters?A=x")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{emu.url}queue/item/{queued}/"
    with pytest.raises(jenkins.EmptyResponseException):
        client.build_job("p", {"A": "x"})  # the client follows the 303 and finds no Location
    other = client.build_job("p", {"A": "y"})
    assert other != queued
    assert len(client.get_queue_info()) == 3


def test_parameters_defaults_and_params_text(client: Any) -> None:
    client.create_job("p", freestyle(params={"A": "1", "B": "two"}))
    queue_id = client.build_job("p", {"A": "x"})
    item = client.get_queue_item(queue_id)
    assert item["params"] == "\nA=x\nB=two"
    parameters = item["actions"][0]["parameters"]
    assert [(p["name"], p["value"]) for p in parameters] == [("A", "x"), ("B", "two")]
    # /build on a parameterized job takes the defaults.
    defaults = client.build_job("p")
    assert client.get_queue_item(defaults)["params"] == "\nA=1\nB=two"


def test_no_agents_at_all_does_not_name_the_label(client: Any) -> None:
    client.create_job("l", freestyle(label="linux"))
    queue_id = client.build_job("l")
    wait_for(lambda: client.get_queue_item(queue_id)["buildable"])
    assert why(client, queue_id) == "Waiting for next available executor"
    assert client.get_queue_item(queue_id)["_class"] == "hudson.model.Queue$BuildableItem"


@pytest.fixture
def quiet_emu() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(admin=ADMIN, quiet_period=5.0) as emulator:
        yield emulator


def test_quiet_period_waiting_item_and_cancel(quiet_emu: JenkinsEmulator) -> None:
    client = jenkins.Jenkins(quiet_emu.url, *ADMIN, timeout=5)
    client.create_job("q", freestyle())
    queue_id = client.build_job("q")
    item = client.get_queue_item(queue_id)
    assert item["_class"] == "hudson.model.Queue$WaitingItem"
    assert re.fullmatch(r"In the quiet period\. Expires in \d(\.\d)? sec", item["why"])
    assert item["timestamp"] >= item["inQueueSince"] + 4000
    assert item["blocked"] is False
    assert item["buildable"] is False
    assert item["stuck"] is False
    assert "pending" not in item
    assert item["task"] == {
        "_class": "hudson.model.FreeStyleProject",
        "name": "q",
        "url": quiet_emu.url + "job/q/",
        "color": "notbuilt",
    }
    answer = raw(quiet_emu, "POST", f"queue/cancelItem?id={queue_id}")
    assert answer.status_code == 204
    left = client.get_queue_item(queue_id)
    assert left["_class"] == "hudson.model.Queue$LeftItem"
    assert left["cancelled"] is True
    assert left["executable"] is None
    assert raw(quiet_emu, "POST", f"queue/cancelItem?id={queue_id}").status_code == 422
    assert raw(quiet_emu, "POST", "queue/cancelItem?id=999").status_code == 404
    client.cancel_queue(999)  # python-jenkins swallows the 404
    # build?delay=0sec skips the quiet period
    fast = raw(quiet_emu, "POST", "job/q/build?delay=0sec")
    fast_id = int(fast.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    wait_for(lambda: client.get_queue_item(fast_id)["buildable"])
    # a job's own <quietPeriod> overrides the controller's default
    client.create_job(
        "own", freestyle().replace("</project>", "<quietPeriod>0</quietPeriod></project>")
    )
    own = client.build_job("own")
    wait_for(lambda: client.get_queue_item(own)["buildable"])


def test_why_texts_follow_the_label_nodes(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "other", labels="windows")
    client.create_job("none", freestyle(label="linux"))
    none_id = client.build_job("none")
    wait_for(lambda: why(client, none_id) == "There are no nodes with the label ‘linux’")
    assert client.get_queue_item(none_id)["stuck"] is True

    client.create_node("solo", labels="solo-label", launcher=jenkins.LAUNCHER_JNLP)
    client.create_job("one", freestyle(label="solo-label"))
    one_id = client.build_job("one")
    wait_for(lambda: why(client, one_id) == "‘solo’ is offline")
    assert client.get_queue_item(one_id)["stuck"] is True

    for name in ("g1", "g2"):
        client.create_node(name, labels="group", launcher=jenkins.LAUNCHER_JNLP)
    client.create_job("grp", freestyle(label="group"))
    grp_id = client.build_job("grp")
    wait_for(lambda: why(client, grp_id) == "All nodes of label ‘group’ are offline")

    client.create_job("expr", freestyle(label="windows && !linux"))
    client.create_job("blocker", freestyle(label="windows", seconds=30))
    client.build_job("blocker")
    wait_for(client.get_running_builds)
    expr_id = client.build_job("expr")
    wait_for(lambda: why(client, expr_id) == "Waiting for next available executor on ‘other’")
    assert client.get_queue_item(expr_id)["stuck"] is False

    VirtualAgent.create(emu, "other2", labels="windows", connect=False)
    wait_for(
        lambda: why(client, expr_id) == "Waiting for next available executor on ‘windows&&!linux’"
    )


def test_tied_to_built_in_node_waits_for_it(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "a")
    client.create_job("b", freestyle(roam=None))
    queue_id = client.build_job("b")
    wait_for(
        lambda: why(client, queue_id) == "Waiting for next available executor on ‘Built-In Node’"
    )


def test_exclusive_node_takes_only_matching_jobs(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "ex", labels="special", mode="EXCLUSIVE")
    client.create_job("free", freestyle())
    free_id = client.build_job("free")
    wait_for(
        lambda: why(client, free_id) == "‘ex’ is reserved for jobs with matching label expression"
    )
    client.create_job("tied", freestyle(label="special"))
    tied_id = client.build_job("tied")
    assert executable(client, tied_id)["number"] == 1
    VirtualAgent.create(emu, "norm")
    assert executable(client, free_id)["number"] == 1
    assert client.get_build_info("free", 1)["builtOn"] == "norm"


def test_non_concurrent_job_is_blocked_by_its_running_build(
    emu: JenkinsEmulator, client: Any
) -> None:
    VirtualAgent.create(emu, "a", executors=2)
    client.create_job("serial", freestyle(seconds=30))
    first = client.build_job("serial")
    executable(client, first)
    second = client.build_job("serial")
    assert second != first
    item = wait_for(
        lambda: client.get_queue_item(second)["blocked"] and client.get_queue_item(second)
    )
    assert item["_class"] == "hudson.model.Queue$BlockedItem"
    assert item["why"] == "Build #1 is already in progress (ETA: N/A)"
    assert "buildableStartMilliseconds" in item
    client.stop_build("serial", 1)
    assert executable(client, second)["number"] == 2


def test_concurrent_job_shares_the_node(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "a", executors=2)
    client.create_job("par", freestyle(seconds=30, concurrent=True, params={"N": "0"}))
    ids = [client.build_job("par", {"N": str(n)}) for n in range(2)]
    numbers = sorted(executable(client, i)["number"] for i in ids)
    assert numbers == [1, 2]
    node = client.get_node_info("a", depth=1)
    assert node["idle"] is False
    assert all(not e["idle"] for e in node["executors"])


def test_build_fields_while_running_and_done(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "a")
    client.create_job("f", freestyle(seconds=0.3))
    queue_id = client.build_job("f")
    executable(client, queue_id)
    running = client.get_build_info("f", 1)
    if running["building"]:
        assert running["inProgress"] is True
        assert running["result"] is None
        assert running["duration"] == 0
        assert running["executor"] == {"_class": "hudson.model.Executor"}
    assert running["builtOn"] == "a"
    assert running["queueId"] == queue_id
    assert running["url"] == emu.url + "job/f/1/"
    assert running["estimatedDuration"] == -1
    done = finished(client, "f", 1)
    assert done["result"] == "SUCCESS"
    assert done["inProgress"] is False
    assert done["duration"] >= 250
    assert done["executor"] is None
    assert done["timestamp"] > 0
    assert "Finished: SUCCESS" in client.get_build_console_output("f", 1)
    second = client.build_job("f")
    executable(client, second)
    assert client.get_build_info("f", 2)["estimatedDuration"] == done["duration"]
    tree = raw(emu, "GET", "job/f/api/json?tree=builds[number,queueId,building,result]").json()
    assert tree["builds"][1] == {
        "_class": "hudson.model.FreeStyleBuild",
        "number": 1,
        "queueId": queue_id,
        "building": False,
        "result": "SUCCESS",
    }
    assert client.get_job_info("f")["lastBuild"]["number"] == 2
    assert raw(emu, "GET", "job/f/lastBuild/api/json").json()["number"] == 2


def test_simulated_failure_result(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "a")
    client.create_job("bad", freestyle(result="FAILURE"))
    executable(client, client.build_job("bad"))
    assert finished(client, "bad", 1)["result"] == "FAILURE"
    assert client.get_job_info("bad")["color"] == "red"


def test_stop_redirects_and_aborts_later(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "a")
    client.create_job("long", freestyle(seconds=60))
    executable(client, client.build_job("long"))
    answer = raw(emu, "POST", "job/long/1/stop")
    assert answer.status_code == 302
    assert answer.headers["Location"] == emu.url + "job/long/1/"
    assert raw(emu, "GET", "job/long/1/").status_code == 200
    done = finished(client, "long", 1)
    assert done["result"] == "ABORTED"
    assert "Aborted by admin" in client.get_build_console_output("long", 1)


def test_queue_listing_and_tree_with_label_expression(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("x", freestyle(label="linux && docker"))
    client.create_job("y", freestyle())
    xid, yid = client.build_job("x"), client.build_job("y")
    wait_for(lambda: all(i["buildable"] for i in client.get_queue_info()))
    assert [i["id"] for i in client.get_queue_info()] == [xid, yid]
    tree = "items[id,why,blocked,buildable,stuck,task[name,url,labelExpression]]"
    items = raw(emu, "GET", f"queue/api/json?tree={tree}").json()["items"]
    assert items[0]["task"]["labelExpression"] == "linux && docker"
    assert items[1]["task"]["labelExpression"] is None
    assert set(items[0]) == {"_class", "id", "why", "blocked", "buildable", "stuck", "task"}


def test_left_items_expire_after_the_retention() -> None:
    with JenkinsEmulator(admin=ADMIN, left_retention=0.3) as emu:
        client = jenkins.Jenkins(emu.url, *ADMIN, timeout=5)
        client.create_job("r", freestyle())
        queue_id = client.build_job("r")
        client.cancel_queue(queue_id)
        assert client.get_queue_item(queue_id)["cancelled"] is True
        wait_for(lambda: raw(emu, "GET", f"queue/item/{queue_id}/api/json").status_code == 404)
        with pytest.raises(jenkins.JenkinsException, match="does not exist"):
            client.get_queue_item(queue_id)


def test_agent_lost_after_assignment_puts_the_item_back(emu: JenkinsEmulator, client: Any) -> None:
    client.create_node("n", labels="l", launcher=jenkins.LAUNCHER_JNLP)
    session = agent_call(emu, "connect", name="n", secret=jnlp_secret(emu, "n")).json()["session"]
    client.create_job("j", freestyle(label="l"))
    queue_id = client.build_job("j")
    pending = wait_for(
        lambda: client.get_queue_item(queue_id).get("pending") and client.get_queue_item(queue_id)
    )
    assert pending["_class"] == "hudson.model.Queue$BuildableItem"
    assert agent_call(emu, "disconnect", name="n", session=session).status_code == 200
    back = client.get_queue_item(queue_id)
    assert back["_class"] == "hudson.model.Queue$BuildableItem"
    assert back["pending"] is False
    assert back["why"] == "‘n’ is offline"
    with pytest.raises(jenkins.JenkinsException, match="does not exist"):
        client.get_build_info("j", 1)
    assert (
        requests.get(emu.url + "queue/api/json", auth=ADMIN, timeout=5).json()["items"][0]["id"]
        == queue_id
    )


def test_built_in_node_with_executors_runs_unlabeled_and_tied_jobs() -> None:
    with JenkinsEmulator(admin=ADMIN, built_in_executors=1) as emu:
        client = jenkins.Jenkins(emu.url, *ADMIN, timeout=5)
        assert client.get_info()["numExecutors"] == 1
        client.create_job("tied", freestyle(roam=None))
        client.create_job("free", freestyle())
        for job in ("tied", "free"):
            executable(client, client.build_job(job))
            assert finished(client, job, 1)["builtOn"] == ""
        assert raw(emu, "GET", "computer/api/json").json()["totalExecutors"] == 1
