"""Round-trips of every record type through the store, filters, and missing objects."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from storekit import FakeClock

from ciorch.errors import NotFoundError
from ciorch.model import (
    AgentClass,
    AgentRecord,
    AgentState,
    BuildRecord,
    BuildResult,
    JobName,
    Label,
    MasterRecord,
    MasterState,
    NodeName,
    PoolDecision,
    TeamId,
    TeamRecord,
)
from ciorch.store import Store

A, B = TeamId("alpha"), TeamId("beta")
JAVA, GO = Label("java"), Label("go")
JOB = JobName("app/build")


def add_team(store: Store, name: TeamId) -> TeamRecord:
    return store.upsert_team(
        name, spec_json=json.dumps({"name": name}), spec_digest="d1", source="f"
    )


def add_agent(
    store: Store,
    node: str,
    *,
    team: TeamId = A,
    label: Label = JAVA,
    agent_class: AgentClass = AgentClass.POOL,
    state: AgentState = AgentState.CONNECTED,
) -> AgentRecord:
    return store.put_agent(
        NodeName(node), team=team, label=label, agent_class=agent_class, state=state
    )


def test_team_round_trip_and_upsert_keeps_created_at(store: Store, clock: FakeClock) -> None:
    first = store.upsert_team(A, spec_json='{"a": 1}', spec_digest="d1", source="teams/a.yaml")
    assert first == TeamRecord(A, '{"a": 1}', "d1", "teams/a.yaml", 1000.0, 1000.0)
    assert store.get_team(A) == first

    clock.advance(5)
    second = store.upsert_team(A, spec_json='{"a": 2}', spec_digest="d2", source="cli")
    assert second == TeamRecord(A, '{"a": 2}', "d2", "cli", 1000.0, 1005.0)
    assert store.get_team(A) == second


def test_list_teams_by_name(store: Store) -> None:
    add_team(store, B)
    add_team(store, A)
    assert [t.name for t in store.list_teams()] == [A, B]


def test_master_round_trip_and_replace(store: Store, clock: FakeClock) -> None:
    add_team(store, A)
    deployed = store.put_master(
        A,
        image="reg/master:1",
        state=MasterState.HEALTHY,
        url="http://127.0.0.1:8080",
        runtime_id="/ciorch/alpha",
        admin_user="ciorch",
    )
    expected = MasterRecord(
        A, "reg/master:1", None, "http://127.0.0.1:8080", "/ciorch/alpha",
        MasterState.HEALTHY, "ciorch", 1000.0,
    )  # fmt: skip
    assert deployed == expected
    assert store.get_master(A) == expected

    clock.advance(1)
    upgraded = store.put_master(
        A, image="reg/master:2", previous_image="reg/master:1", state=MasterState.UPGRADING
    )
    assert upgraded == MasterRecord(
        A, "reg/master:2", "reg/master:1", None, None, MasterState.UPGRADING, None, 1001.0
    )
    assert store.list_masters() == [upgraded]


def test_list_masters_by_state(store: Store) -> None:
    for team, state in [(A, MasterState.HEALTHY), (B, MasterState.UNHEALTHY)]:
        add_team(store, team)
        store.put_master(team, image="m", state=state)
    assert [m.team for m in store.list_masters(states={MasterState.UNHEALTHY})] == [B]
    assert [m.team for m in store.list_masters(states=[])] == []
    assert [m.team for m in store.list_masters()] == [A, B]


def test_agent_round_trip_state_change_and_delete(store: Store, clock: FakeClock) -> None:
    add_team(store, A)
    created = store.put_agent(
        NodeName("alpha-java-1"),
        team=A,
        label=JAVA,
        agent_class=AgentClass.EPHEMERAL,
        state=AgentState.REQUESTED,
        queue_id=42,
    )
    assert created == AgentRecord(
        NodeName("alpha-java-1"), A, JAVA, AgentClass.EPHEMERAL, None,
        AgentState.REQUESTED, 42, 1000.0, 1000.0,
    )  # fmt: skip
    assert store.get_agent(NodeName("alpha-java-1")) == created

    clock.advance(2)
    started = store.put_agent(
        NodeName("alpha-java-1"),
        team=A,
        label=JAVA,
        agent_class=AgentClass.EPHEMERAL,
        state=AgentState.STARTING,
        runtime_id="c0ffee",
        queue_id=42,
    )
    assert started == dataclasses.replace(
        created, runtime_id="c0ffee", state=AgentState.STARTING, updated_at=1002.0
    )

    clock.advance(3)
    busy = store.set_agent_state(NodeName("alpha-java-1"), AgentState.BUSY)
    assert busy == dataclasses.replace(started, state=AgentState.BUSY, updated_at=1005.0)
    assert store.list_agents() == [busy]

    store.delete_agent(NodeName("alpha-java-1"))
    assert store.list_agents() == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["a-java-1", "a-java-2", "a-go-1", "b-java-1"]),
        ({"team": A}, ["a-java-1", "a-java-2", "a-go-1"]),
        ({"team": A, "label": JAVA}, ["a-java-1", "a-java-2"]),
        ({"label": JAVA}, ["a-java-1", "a-java-2", "b-java-1"]),
        ({"states": {AgentState.BUSY}}, ["a-java-2"]),
        ({"states": [AgentState.BUSY, AgentState.CONNECTED], "team": B}, ["b-java-1"]),
        ({"states": []}, []),
        ({"agent_class": AgentClass.EPHEMERAL}, ["a-go-1"]),
        ({"team": TeamId("nobody")}, []),
    ],
)
def test_list_agents_filters(
    store: Store, clock: FakeClock, filters: dict[str, Any], expected: list[str]
) -> None:
    add_team(store, A)
    add_team(store, B)
    for node, team, label, agent_class, state in [
        ("a-java-1", A, JAVA, AgentClass.POOL, AgentState.CONNECTED),
        ("a-java-2", A, JAVA, AgentClass.POOL, AgentState.BUSY),
        ("a-go-1", A, GO, AgentClass.EPHEMERAL, AgentState.STARTING),
        ("b-java-1", B, JAVA, AgentClass.POOL, AgentState.CONNECTED),
    ]:
        add_agent(store, node, team=team, label=label, agent_class=agent_class, state=state)
        clock.advance(1)
    assert [a.node_name for a in store.list_agents(**filters)] == expected


def test_delete_team_cascades_to_master_and_agents_but_keeps_history(store: Store) -> None:
    add_team(store, A)
    add_team(store, B)
    store.put_master(A, image="m", state=MasterState.HEALTHY)
    store.put_master(B, image="m", state=MasterState.HEALTHY)
    add_agent(store, "a-1", team=A)
    add_agent(store, "b-1", team=B)
    event, _ = store.record_hook_event(
        dedupe_key="k", team=A, repository="r", ref="main", revision="1", job=JOB,
        payload_json="{}",
    )  # fmt: skip
    build = store.record_build(team=A, job=JOB, queue_id=7)
    decision = store.record_pool_decision(
        team=A, label=JAVA, observed_json="{}", current=1, desired=2, reason="queue"
    )

    store.delete_team(A)

    assert [t.name for t in store.list_teams()] == [B]
    assert [m.team for m in store.list_masters()] == [B]
    assert [a.node_name for a in store.list_agents()] == ["b-1"]
    assert store.get_hook_event(event.id) == event
    assert store.get_build(build.id) == build
    assert store.list_pool_decisions(A, JAVA) == [decision]


def test_build_round_trip_update_and_find(store: Store) -> None:
    queued = store.record_build(team=A, job=JOB, queue_id=7)
    assert queued == BuildRecord(queued.id, A, JOB, 7, None, None, None, None, None)
    assert store.find_build(A, 7) == queued
    assert store.find_build(B, 7) is None

    started = store.update_build(
        dataclasses.replace(queued, number=12, node_name=NodeName("a-java-1"), started_at=10.0)
    )
    finished = store.update_build(
        dataclasses.replace(started, result=BuildResult.UNSTABLE, finished_at=70.5)
    )
    assert finished == BuildRecord(
        queued.id, A, JOB, 7, 12, BuildResult.UNSTABLE, NodeName("a-java-1"), 10.0, 70.5
    )
    assert store.get_build(queued.id) == finished


def test_list_builds_filters_newest_first(store: Store) -> None:
    one = store.record_build(team=A, job=JOB, number=1, started_at=1.0)
    two = store.record_build(team=A, job=JobName("other"), number=1, started_at=2.0)
    three = store.record_build(team=B, job=JOB, number=1, started_at=3.0)
    store.update_build(dataclasses.replace(one, result=BuildResult.SUCCESS, finished_at=5.0))

    def ids(**filters: Any) -> list[int]:
        return [b.id for b in store.list_builds(**filters)]

    assert ids() == [three.id, two.id, one.id]
    assert ids(team=A) == [two.id, one.id]
    assert ids(team=A, job=JOB) == [one.id]
    assert ids(unfinished=True) == [three.id, two.id]
    assert ids(limit=1) == [three.id]


def test_pool_decisions_round_trip_and_since(store: Store, clock: FakeClock) -> None:
    first = store.record_pool_decision(
        team=A, label=JAVA, observed_json='{"queued": 3}', current=1, desired=4, reason="grow"
    )
    assert first == PoolDecision(first.id, A, JAVA, 1000.0, '{"queued": 3}', 1, 4, "grow")
    clock.advance(60)
    second = store.record_pool_decision(
        team=A, label=JAVA, observed_json="{}", current=4, desired=2, reason="idle"
    )
    store.record_pool_decision(
        team=A, label=GO, observed_json="{}", current=0, desired=1, reason="min"
    )
    explicit = store.record_pool_decision(
        team=A, label=JAVA, observed_json="{}", current=2, desired=2, reason="steady", at=2000.0
    )
    assert explicit.at == 2000.0

    assert store.list_pool_decisions(A, JAVA) == [first, second, explicit]
    assert store.list_pool_decisions(A, JAVA, since=1060.0) == [second, explicit]
    assert store.list_pool_decisions(B, JAVA) == []


MISSING: list[tuple[str, Callable[[Store], object], str]] = [
    ("get_team", lambda s: s.get_team(TeamId("x")), "team x"),
    ("delete_team", lambda s: s.delete_team(TeamId("x")), "team x"),
    ("get_master", lambda s: s.get_master(TeamId("x")), "master of team x"),
    (
        "put_master for a missing team",
        lambda s: s.put_master(TeamId("x"), image="m", state=MasterState.DEPLOYING),
        "team x",
    ),
    ("get_agent", lambda s: s.get_agent(NodeName("n")), "agent n"),
    ("set_agent_state", lambda s: s.set_agent_state(NodeName("n"), AgentState.BUSY), "agent n"),
    ("delete_agent", lambda s: s.delete_agent(NodeName("n")), "agent n"),
    ("put_agent for a missing team", lambda s: add_agent(s, "n", team=TeamId("x")), "team x"),
    ("get_hook_event", lambda s: s.get_hook_event(99), "hook event 99"),
    ("mark_hook_dispatched", lambda s: s.mark_hook_dispatched(99, 1), "hook event 99"),
    ("mark_hook_failed", lambda s: s.mark_hook_failed(99, "boom"), "hook event 99"),
    ("mark_hook_ignored", lambda s: s.mark_hook_ignored(99, "gone"), "hook event 99"),
    ("get_build", lambda s: s.get_build(99), "build 99"),
    (
        "update_build",
        lambda s: s.update_build(BuildRecord(99, A, JOB, None, None, None, None, None, None)),
        "build 99",
    ),
]


@pytest.mark.parametrize(
    ("call", "where"), [(c, w) for _, c, w in MISSING], ids=[m[0] for m in MISSING]
)
def test_missing_objects_raise_not_found_naming_them(
    store: Store, call: Callable[[Store], object], where: str
) -> None:
    with pytest.raises(NotFoundError) as caught:
        call(store)
    assert caught.value.where == where
    assert store.list_teams() == []  # and a failed write wrote nothing


def test_credentials_round_trip_and_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.upsert_team(TeamId("a"), spec_json="{}", spec_digest="d", source="a.yaml")
        with pytest.raises(NotFoundError):
            store.get_credential(TeamId("a"))
        store.put_credential(TeamId("a"), username="ciorch-admin", secret="s3cret")
        cred = store.get_credential(TeamId("a"))
        assert (cred.username, cred.secret) == ("ciorch-admin", "s3cret")
        assert "s3cret" not in repr(cred)
        store.delete_team(TeamId("a"))
        with pytest.raises(NotFoundError):
            store.get_credential(TeamId("a"))
    assert (path.stat().st_mode & 0o777) == 0o600


def test_managed_jobs_follow_their_team(store: Store) -> None:
    store.upsert_team(A, spec_json="{}", spec_digest="d", source="a.yaml")
    store.set_managed_job(A, "build", "d1")
    store.set_managed_job(A, "test", "d2")
    store.set_managed_job(A, "build", "d3")
    assert store.managed_jobs(A) == {"build": "d3", "test": "d2"}
    store.set_managed_job(A, "test", None)
    assert store.managed_jobs(A) == {"build": "d3"}
    with pytest.raises(NotFoundError):
        store.set_managed_job(B, "x", "d")
    store.delete_team(A)
    assert store.managed_jobs(A) == {}
