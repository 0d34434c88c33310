"""Crash safety and sharing a file between processes, with real child processes.

The children are ``python -c`` scripts that report progress on stdout; the test waits
for those lines with a deadline (never a fixed sleep), and SIGKILLs a child to crash it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from storekit import Child

from ciorch.model import AgentClass, AgentState, JobName, Label, MasterState, NodeName, TeamId
from ciorch.store import SCHEMA_VERSION, Store

# Each transaction writes a team, its master and one agent: after a crash, every team
# must have exactly its master and its agent, or not be there at all.
WRITER = """
import sys
from ciorch.model import AgentClass, AgentState, Label, MasterState, NodeName, TeamId
from ciorch.store import SCHEMA_VERSION, Store

path, prefix, count, then = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
big = "x" * 200_000  # a large row, so uncommitted pages spill into the WAL file

def write(store, name, spec):
    team = TeamId(name)
    store.upsert_team(team, spec_json=spec, spec_digest="d", source="child")
    store.put_master(team, image="m:1", state=MasterState.DEPLOYING)
    store.put_agent(NodeName(name + "-a"), team=team, label=Label("java"),
                    agent_class=AgentClass.POOL, state=AgentState.STARTING)

if then == "wait-open":
    print("started", flush=True)
    sys.stdin.readline()
store = Store.open(path)
print("ready", flush=True)
if then == "wait-go":
    sys.stdin.readline()
i = 0
while count < 0 or i < count:
    with store.transaction():
        write(store, f"{prefix}{i}", "{}")
    print(f"committed {i}", flush=True)
    i += 1
if then == "hang-mid-transaction":
    with store.transaction():
        for j in range(100):  # ~20 MB: more than SQLite's page cache holds
            write(store, f"{prefix}half{j}", big)
        print("mid", flush=True)
        sys.stdin.readline()  # never answered: the test kills us here
print("done", flush=True)
"""


def committed(line: str) -> int | None:
    return int(line.split()[1]) if line.startswith("committed ") else None


def assert_whole(path: Path) -> set[str]:
    """The file is intact and every team is whole (team, master, agent); returns the
    teams' names."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    with Store.open(path) as store:
        teams: set[str] = {t.name for t in store.list_teams()}
        assert {m.team for m in store.list_masters()} == teams
        assert {a.node_name for a in store.list_agents()} == {f"{t}-a" for t in teams}
    return teams


def test_kill_mid_transaction_leaves_only_committed_transactions(
    db_path: Path, spawn: Callable[..., Child]
) -> None:
    child = spawn(WRITER, str(db_path), "t", "20", "hang-mid-transaction")
    child.wait_for(lambda line: line == "mid")
    assert Path(f"{db_path}-wal").stat().st_size > 10_000_000  # uncommitted frames on disk
    child.kill()

    teams = assert_whole(db_path)
    assert teams == {f"t{i}" for i in range(20)}


@pytest.mark.parametrize("kill_after", [1, 40, 150])
def test_kill_at_a_random_point_loses_no_committed_transaction(
    db_path: Path, spawn: Callable[..., Child], kill_after: int
) -> None:
    child = spawn(WRITER, str(db_path), "t", "-1", "loop")
    child.wait_for(lambda line: (committed(line) or 0) >= kill_after)
    child.kill()
    reported = {f"t{n}" for n in map(committed, child.drain()) if n is not None}

    teams = assert_whole(db_path)
    # everything the child saw committed is there; at most the one in flight besides
    assert reported <= teams
    assert len(teams - reported) <= 1


def test_two_processes_write_the_same_file_concurrently(
    db_path: Path, spawn: Callable[..., Child]
) -> None:
    count = 300
    with Store.open(db_path) as store:  # create it first: both then open a WAL file
        pass
    child = spawn(WRITER, str(db_path), "child", str(count), "wait-go")
    child.wait_for(lambda line: line == "ready")

    with Store.open(db_path) as store:
        child.send("go")
        for i in range(count):
            with store.transaction():
                team = TeamId(f"parent{i}")
                store.upsert_team(team, spec_json="{}", spec_digest="d", source="parent")
                store.put_master(team, image="m:1", state=MasterState.DEPLOYING)
                store.put_agent(
                    NodeName(f"parent{i}-a"),
                    team=team,
                    label=Label("java"),
                    agent_class=AgentClass.POOL,
                    state=AgentState.STARTING,
                )
            store.list_teams()  # and read while the other process writes
    child.wait_for(lambda line: line == "done")
    assert child.finish() == 0, child.stderr()

    teams = assert_whole(db_path)
    expected = {f"{who}{i}" for who in ("child", "parent") for i in range(count)}
    assert teams == expected


HOOKS = """
import sys
from ciorch.model import JobName, TeamId
from ciorch.store import SCHEMA_VERSION, Store

store = Store.open(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
created = 0
for i in range(int(sys.argv[2])):
    _, new = store.record_hook_event(
        dedupe_key=f"k{i}", team=TeamId("a"), repository="r", ref="main",
        revision=str(i), job=JobName("j"), payload_json="{}")
    created += new
print(f"created {created}", flush=True)
"""


def test_redelivered_hooks_in_two_processes_are_recorded_once(
    db_path: Path, spawn: Callable[..., Child]
) -> None:
    count = 300
    with Store.open(db_path):
        pass
    child = spawn(HOOKS, str(db_path), str(count))
    child.wait_for(lambda line: line == "ready")
    with Store.open(db_path) as store:
        child.send("go")
        created_here = 0
        for i in range(count):
            _, new = store.record_hook_event(
                dedupe_key=f"k{i}",
                team=TeamId("a"),
                repository="r",
                ref="main",
                revision=str(i),
                job=JobName("j"),
                payload_json="{}",
            )
            created_here += new
        line = child.wait_for(lambda line: line.startswith("created "))
        assert child.finish() == 0, child.stderr()
        assert created_here + int(line.split()[1]) == count
        events = store.pending_hook_events(limit=count + 1)
        assert sorted(e.dedupe_key for e in events) == sorted(f"k{i}" for i in range(count))


def test_two_processes_may_create_and_migrate_a_new_file_at_once(
    db_path: Path, spawn: Callable[..., Child]
) -> None:
    children = [spawn(WRITER, str(db_path), f"c{n}-", "5", "wait-open") for n in range(3)]
    for child in children:
        child.wait_for(lambda line: line == "started")
    for child in children:
        child.send("go")
    with Store.open(db_path) as store:  # racing the children to create the file
        assert store.schema_version == SCHEMA_VERSION
    for child in children:
        child.wait_for(lambda line: line == "done")
        assert child.finish() == 0, child.stderr()
    with Store.open(db_path) as store:
        assert len(store.list_teams()) == 15
    conn = sqlite3.connect(db_path)
    try:  # each migration was applied exactly once
        rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert rows == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    finally:
        conn.close()
