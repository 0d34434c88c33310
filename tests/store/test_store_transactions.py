"""Atomic groups of writes, nesting, isolation between connections and threads, lock
contention, and use after close."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ciorch.errors import NotFoundError, StoreError, TemporaryError
from ciorch.model import AgentClass, AgentState, JobName, Label, MasterState, NodeName, TeamId
from ciorch.store import Store

A, B = TeamId("alpha"), TeamId("beta")


class Boom(Exception):
    pass


def write_everything(store: Store, team: TeamId) -> None:
    """One write of every kind."""
    store.upsert_team(team, spec_json="{}", spec_digest="d", source="f")
    store.put_master(team, image="m:1", state=MasterState.DEPLOYING)
    store.put_agent(
        NodeName(f"{team}-1"),
        team=team,
        label=Label("java"),
        agent_class=AgentClass.POOL,
        state=AgentState.STARTING,
    )
    store.record_hook_event(
        dedupe_key=f"{team}-k", team=team, repository="r", ref="main", revision="1",
        job=JobName("j"), payload_json="{}",
    )  # fmt: skip
    store.record_build(team=team, job=JobName("j"), queue_id=1)
    store.record_pool_decision(
        team=team, label=Label("java"), observed_json="{}", current=0, desired=1, reason="r"
    )


def fail_in_transaction(
    store: Store, write: Callable[[], None], error: type[BaseException] = Boom
) -> None:
    """Write inside a transaction, then raise ``error`` before it ends."""
    with store.transaction():
        write()
        raise error


def everything(store: Store) -> tuple[int, ...]:
    return (
        len(store.list_teams()),
        len(store.list_masters()),
        len(store.list_agents()),
        len(store.list_hook_events()),
        len(store.list_builds()),
        len(store.list_pool_decisions(A, Label("java")))
        + len(store.list_pool_decisions(B, Label("java"))),
    )


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_exception_rolls_back_every_write(store: Store, error: type[BaseException]) -> None:
    def write() -> None:
        write_everything(store, A)
        assert everything(store) == (1, 1, 1, 1, 1, 1)  # visible inside

    with pytest.raises(error):
        fail_in_transaction(store, write, error)
    assert everything(store) == (0, 0, 0, 0, 0, 0)
    write_everything(store, A)  # and the store is usable afterwards
    assert everything(store) == (1, 1, 1, 1, 1, 1)


def test_commit_keeps_every_write(store: Store) -> None:
    with store.transaction():
        write_everything(store, A)
        write_everything(store, B)
    assert everything(store) == (2, 2, 2, 2, 2, 2)


def test_nested_transaction_joins_the_outer_one(store: Store) -> None:
    def inner() -> None:
        with store.transaction():
            write_everything(store, A)

    with pytest.raises(Boom):
        fail_in_transaction(store, inner)
    assert everything(store) == (0, 0, 0, 0, 0, 0)


def test_failed_inner_block_is_undone_alone(store: Store) -> None:
    with store.transaction():
        write_everything(store, A)
        with pytest.raises(Boom):
            fail_in_transaction(store, lambda: write_everything(store, B))
        with pytest.raises(NotFoundError):  # a failing write method inside: nothing half
            store.put_master(TeamId("ghost"), image="m", state=MasterState.DEPLOYING)
    assert [t.name for t in store.list_teams()] == [A]
    assert everything(store) == (1, 1, 1, 1, 1, 1)


def test_other_connections_see_only_committed_transactions(db_path: Path) -> None:
    with Store.open(db_path) as writer, Store.open(db_path) as reader:
        with writer.transaction():
            write_everything(writer, A)
            assert everything(reader) == (0, 0, 0, 0, 0, 0)
        assert everything(reader) == (1, 1, 1, 1, 1, 1)


def test_held_write_lock_raises_temporary_error(db_path: Path) -> None:
    with Store.open(db_path, busy_timeout=0.05) as store:
        other = sqlite3.connect(db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(TemporaryError) as caught:
                store.upsert_team(A, spec_json="{}", spec_digest="d", source="f")
            assert caught.value.where == str(db_path)
            assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
            assert store.list_teams() == []  # readers are not blocked by the writer
            other.execute("ROLLBACK")
        finally:
            other.close()
        store.upsert_team(A, spec_json="{}", spec_digest="d", source="f")
        assert [t.name for t in store.list_teams()] == [A]


def test_threads_share_one_store(store: Store) -> None:
    errors: list[BaseException] = []

    def work(prefix: str) -> None:
        try:
            for i in range(100):
                with store.transaction():
                    team = TeamId(f"{prefix}{i}")
                    store.upsert_team(team, spec_json="{}", spec_digest="d", source="f")
                    store.put_master(team, image="m", state=MasterState.HEALTHY)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(store.list_teams()) == len(store.list_masters()) == 400


def test_another_threads_write_never_joins_an_open_transaction(store: Store) -> None:
    inside, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def rolled_back() -> None:
        try:
            with store.transaction():
                store.upsert_team(A, spec_json="{}", spec_digest="d", source="f")
                inside.set()
                release.wait(timeout=30)
                raise Boom
        except Boom:
            pass
        except BaseException as exc:
            failures.append(exc)

    first = threading.Thread(target=rolled_back)
    first.start()
    assert inside.wait(timeout=30)
    second = threading.Thread(
        target=store.upsert_team,
        args=(B,),
        kwargs={"spec_json": "{}", "spec_digest": "d", "source": "f"},
    )
    second.start()  # waits for the first thread's transaction to end
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert failures == []
    assert [t.name for t in store.list_teams()] == [B]


def test_closed_store_refuses_use(db_path: Path) -> None:
    store = Store.open(db_path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError) as caught:
        store.list_teams()
    assert str(caught.value) == f"the state store is closed ({db_path})"
    with pytest.raises(StoreError), store.transaction():
        pass
