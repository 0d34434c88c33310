"""Jenkins emulator: load statistics (API.md C1 "Load statistics"): endpoints, depth pruning,
moving averages, which nodes and items each statistic counts. The clock is 0.05 s here
(Jenkins: 10 s, ``hudson.model.LoadStatistics.clock``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jenkins
import pytest
import requests
from _jenkins_kit import ADMIN, executable, freestyle
from _wait import wait_for

from ciorch.testing.jenkins import JenkinsEmulator, VirtualAgent

SERIES = {
    "availableExecutors",
    "busyExecutors",
    "connectingExecutors",
    "definedExecutors",
    "idleExecutors",
    "onlineExecutors",
    "queueLength",
    "totalExecutors",
}


@pytest.fixture
def fast() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(admin=ADMIN, load_clock=0.05, built_in_executors=2) as emulator:
        yield emulator


def get(emu: JenkinsEmulator, path: str, **params: Any) -> Any:
    answer = requests.get(emu.url + path, params=params, auth=ADMIN, timeout=5)
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.json()


def history(emu: JenkinsEmulator, path: str, series: str, stage: str = "sec10") -> list[float]:
    body = get(emu, path, depth=2)[series][stage]
    assert body["latest"] == body["history"][0]
    values: list[float] = body["history"]
    return values


def test_endpoints_and_depth_pruning(fast: JenkinsEmulator) -> None:
    VirtualAgent.create(fast, "a", labels="pool")
    paths = {
        "label/pool/loadStatistics/api/json": "hudson.model.Label$1",
        "computer/a/loadStatistics/api/json": "hudson.model.Label$1",
        "overallLoad/api/json": "hudson.model.OverallLoadStatistics",
        "unlabeledLoad/api/json": "jenkins.model.UnlabeledLoadStatistics",
    }
    for path, cls in paths.items():
        shallow = get(fast, path)
        extra = {"totalQueueLength"} if path.startswith("overall") else set()
        assert set(shallow) == {"_class"} | SERIES | extra, path
        assert shallow["_class"] == cls
        assert shallow["queueLength"] == {"_class": "hudson.model.MultiStageTimeSeries"}
        middle = get(fast, path, depth=1)["busyExecutors"]
        assert middle["sec10"] == {"_class": "hudson.model.TimeSeries"}
        deep = get(fast, path, depth=2)["busyExecutors"]
        assert set(deep) == {"_class", "sec10", "min", "hour"}
        assert set(deep["hour"]) == {"_class", "history", "latest"}
    tree = "queueLength[sec10[latest]],busyExecutors[sec10[latest]]"
    pruned = get(fast, "label/pool/loadStatistics/api/json", tree=tree)
    assert set(pruned) == {"_class", "queueLength", "busyExecutors"}
    assert set(pruned["queueLength"]["sec10"]) == {"_class", "latest"}


def last_sample(values: list[float]) -> float:
    """The sample behind the newest point: (h0 - 0.9 h1) / 0.1."""
    return (values[0] - 0.9 * values[1]) / 0.1


def settled(emu: JenkinsEmulator, path: str, series: str, ticks: int = 3) -> list[float]:
    """The history once ``ticks`` more samples were taken (the state is stable by then)."""
    start = len(history(emu, path, series))
    return wait_for(lambda: len(h := history(emu, path, series)) >= start + ticks and h)


def test_moving_averages_not_counts(fast: JenkinsEmulator) -> None:
    """A step 0 -> 1 reads 0.1, 0.19, 0.271... (sec10 = 0.9 old + 0.1 sample, Java floats);
    `min` takes every 6th sample."""
    VirtualAgent.create(fast, "a", labels="pool")
    path = "label/pool/loadStatistics/api/json"
    values = wait_for(lambda: len(h := history(fast, path, "definedExecutors")) >= 4 and h)
    assert values[-4:] == [0.27100006, 0.19000004, 0.100000024, 0.0]
    assert values[-4:] == pytest.approx([0.271, 0.19, 0.1, 0.0])
    minute = wait_for(lambda: len(h := history(fast, path, "definedExecutors", "min")) >= 2 and h)
    assert minute[-2:] == [0.100000024, 0.0]
    online = settled(fast, path, "onlineExecutors")
    assert last_sample(online) == pytest.approx(1, abs=1e-3)
    assert history(fast, path, "totalExecutors")[0] == history(fast, path, "onlineExecutors")[0]
    assert max(history(fast, path, "connectingExecutors")) == 0.0  # inbound: never connecting


def test_queue_length_counts_items_of_exactly_the_label(fast: JenkinsEmulator) -> None:
    client = jenkins.Jenkins(fast.url, *ADMIN, timeout=5)
    VirtualAgent.create(fast, "a", labels="pool")
    client.create_job("long", freestyle(label="pool", seconds=30))
    client.create_job("waits", freestyle(label="pool"))
    get(fast, "label/pool||zzz/api/json")  # Jenkins.getLabel: now a known label
    executable(client, client.build_job("long"))
    client.build_job("waits")
    pool = "label/pool/loadStatistics/api/json"
    wait_for(lambda: history(fast, pool, "queueLength")[0] > 0.2)
    assert history(fast, pool, "busyExecutors")[0] > 0.2
    either = "label/pool||zzz/loadStatistics/api/json"
    wait_for(lambda: history(fast, either, "busyExecutors")[0] > 0.2)
    assert max(history(fast, either, "queueLength")) == 0.0  # matches, but not exactly X
    assert history(fast, "overallLoad/api/json", "queueLength")[0] > 0
    assert max(history(fast, "unlabeledLoad/api/json", "queueLength")) == 0.0


def test_offline_nodes_and_which_nodes_count(fast: JenkinsEmulator) -> None:
    """Offline (temporarily too): defined only. overallLoad: agents only (not the built-in
    node's 2 executors). unlabeledLoad: NORMAL agents only."""
    client = jenkins.Jenkins(fast.url, *ADMIN, timeout=5)
    VirtualAgent.create(fast, "up", labels="grp", executors=2)
    VirtualAgent.create(fast, "parked", labels="grp", executors=3)
    VirtualAgent.create(fast, "ex", labels="grp", mode="EXCLUSIVE")
    client.disable_node("parked")
    grp = "label/grp/loadStatistics/api/json"

    def sample(path: str, series: str) -> float:
        return last_sample(settled(fast, path, series))

    assert sample(grp, "definedExecutors") == pytest.approx(6, abs=1e-3)
    assert sample(grp, "onlineExecutors") == pytest.approx(3, abs=1e-3)  # up + ex
    assert sample(grp, "idleExecutors") == pytest.approx(3, abs=1e-3)
    assert sample(grp, "availableExecutors") == pytest.approx(3, abs=1e-3)
    assert sample(grp, "busyExecutors") == pytest.approx(0, abs=1e-3)
    overall = "overallLoad/api/json"
    assert sample(overall, "definedExecutors") == pytest.approx(6, abs=1e-3)  # no built-in
    unlabeled = "unlabeledLoad/api/json"
    assert sample(unlabeled, "definedExecutors") == pytest.approx(5, abs=1e-3)  # not ex
    assert sample(unlabeled, "onlineExecutors") == pytest.approx(2, abs=1e-3)


def test_label_loses_its_history_with_its_last_node(fast: JenkinsEmulator) -> None:
    client = jenkins.Jenkins(fast.url, *ADMIN, timeout=5)
    VirtualAgent.create(fast, "gone", labels="temp")
    path = "label/temp/loadStatistics/api/json"
    wait_for(lambda: len(history(fast, path, "onlineExecutors")) >= 3)
    client.delete_node("gone")
    assert history(fast, path, "onlineExecutors") == [0.0]
    assert history(fast, "computer/(built-in)/loadStatistics/api/json", "definedExecutors")
