"""SCM hook events: recorded once per dedupe key, then dispatched, retried or given up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from storekit import FakeClock

from ciorch.errors import PermanentError
from ciorch.model import HookEvent, HookState, JobName, TeamId
from ciorch.store import Store

A, B = TeamId("alpha"), TeamId("beta")
JOB = JobName("app/build")


def record(store: Store, key: str, team: TeamId = A) -> tuple[HookEvent, bool]:
    return store.record_hook_event(
        dedupe_key=key,
        team=team,
        repository="file:///srv/git/app.git",
        ref="refs/heads/main",
        revision="0123abcd",
        job=JOB,
        payload_json='{"after": "0123abcd"}',
    )


def test_record_creates_a_pending_event(store: Store) -> None:
    event, created = record(store, "git:app:0123abcd:app/build")
    assert created is True
    assert event == HookEvent(
        id=event.id,
        dedupe_key="git:app:0123abcd:app/build",
        team=A,
        repository="file:///srv/git/app.git",
        ref="refs/heads/main",
        revision="0123abcd",
        job=JOB,
        payload_json='{"after": "0123abcd"}',
        state=HookState.PENDING,
        attempts=0,
        last_error=None,
        received_at=1000.0,
        dispatched_at=None,
        queue_id=None,
    )
    assert store.get_hook_event(event.id) == event


def test_redelivery_is_recorded_once(store: Store, clock: FakeClock) -> None:
    first, created = record(store, "k1")
    assert created
    clock.advance(10)
    for _ in range(3):
        again, created_again = record(store, "k1")
        assert (again, created_again) == (first, False)
    assert store.pending_hook_events() == [first]


def test_redelivery_after_dispatch_does_not_rebuild(store: Store) -> None:
    first, _ = record(store, "k1")
    dispatched = store.mark_hook_dispatched(first.id, queue_id=5)
    again, created = record(store, "k1")
    assert (again, created) == (dispatched, False)
    assert store.pending_hook_events() == []


def test_pending_events_in_arrival_order_by_team_and_limit(store: Store) -> None:
    events = [record(store, f"k{i}", team=A if i % 2 else B)[0] for i in range(6)]
    assert store.pending_hook_events() == events
    assert store.pending_hook_events(team=A) == events[1::2]
    assert store.pending_hook_events(limit=2) == events[:2]
    store.mark_hook_dispatched(events[0].id, queue_id=1)
    store.mark_hook_ignored(events[1].id, "job gone")
    assert store.pending_hook_events() == events[2:]


def test_dispatch_records_queue_item_and_time(store: Store, clock: FakeClock) -> None:
    event, _ = record(store, "k1")
    clock.advance(30)
    dispatched = store.mark_hook_dispatched(event.id, queue_id=77)
    assert (dispatched.state, dispatched.queue_id, dispatched.dispatched_at) == (
        HookState.DISPATCHED,
        77,
        1030.0,
    )
    assert store.get_hook_event(event.id) == dispatched


def test_failed_attempts_are_counted_and_stay_pending(store: Store) -> None:
    event, _ = record(store, "k1")
    store.mark_hook_failed(event.id, "master down")
    retried = store.mark_hook_failed(event.id, "master still down")
    assert (retried.state, retried.attempts, retried.last_error) == (
        HookState.PENDING,
        2,
        "master still down",
    )
    assert store.pending_hook_events() == [retried]
    dispatched = store.mark_hook_dispatched(event.id, queue_id=3)
    assert (dispatched.state, dispatched.attempts) == (HookState.DISPATCHED, 2)


def test_permanent_failure_gives_up(store: Store) -> None:
    event, _ = record(store, "k1")
    failed = store.mark_hook_failed(event.id, "no such job", permanent=True)
    assert (failed.state, failed.attempts, failed.last_error) == (
        HookState.FAILED,
        1,
        "no such job",
    )
    assert store.pending_hook_events() == []


def test_ignored_keeps_the_reason(store: Store) -> None:
    event, _ = record(store, "k1")
    ignored = store.mark_hook_ignored(event.id, "team removed")
    assert (ignored.state, ignored.attempts, ignored.last_error) == (
        HookState.IGNORED,
        0,
        "team removed",
    )


FINISH: dict[str, Callable[[Store, int], HookEvent]] = {
    "dispatched": lambda s, i: s.mark_hook_dispatched(i, queue_id=1),
    "failed": lambda s, i: s.mark_hook_failed(i, "x", permanent=True),
    "ignored": lambda s, i: s.mark_hook_ignored(i, "x"),
}


@pytest.mark.parametrize("finish", FINISH.keys())
@pytest.mark.parametrize("then", FINISH.keys())
def test_only_pending_events_change(store: Store, finish: str, then: str) -> None:
    event, _ = record(store, "k1")
    done = FINISH[finish](store, event.id)
    with pytest.raises(PermanentError) as caught:
        FINISH[then](store, event.id)
    assert str(caught.value) == f"hook event is {finish}, not pending (hook event {event.id})"
    assert store.get_hook_event(event.id) == done


def test_list_hook_events_newest_first(store: Store) -> None:
    one, _ = record(store, "k1", team=A)
    two, _ = record(store, "k2", team=B)
    three, _ = record(store, "k3", team=A)
    three = store.mark_hook_dispatched(three.id, queue_id=9)
    assert store.list_hook_events() == [three, two, one]
    assert store.list_hook_events(team=A) == [three, one]
    assert store.list_hook_events(states={HookState.PENDING}) == [two, one]
    assert store.list_hook_events(limit=1) == [three]
