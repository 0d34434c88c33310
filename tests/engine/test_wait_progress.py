"""Waiting for a master reports progress every 10 s of the engine's clock, and gives up
at the deadline with what it saw; no real time passes."""

from __future__ import annotations

from typing import Any

import pytest

from ciorch.engine.context import Engine
from ciorch.engine.onboard import wait_healthy
from ciorch.errors import TemporaryError
from ciorch.model.runtime import Instance, InstanceState, Service, WorkloadKind


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class SlowMaster:
    """A runtime whose master turns healthy at ``healthy_at`` on the clock."""

    def __init__(self, clock: Clock, healthy_at: float) -> None:
        self.clock, self.healthy_at = clock, healthy_at

    def get_service(self, service_id: str) -> Service:
        state = InstanceState.HEALTHY if self.clock() >= self.healthy_at else InstanceState.RUNNING
        task = Instance("c1", "m-0", service_id, state, {}, "m:1", ports=(18080,))
        return Service(
            service_id, "t", "master", WorkloadKind.MASTER, "m:1", 1, (task,), port=18080
        )


def engine_for(clock: Clock, runtime: Any, lines: list[str]) -> Engine:
    return Engine(
        controller=None,
        store=None,
        runtime=runtime,
        clock=clock,  # type: ignore[arg-type]
        sleep=clock.sleep,
        progress=lines.append,
    )


def test_progress_every_ten_seconds_until_healthy() -> None:
    clock, lines = Clock(), []
    service = wait_healthy(engine_for(clock, SlowMaster(clock, 1035.0), lines), "m", "m:1", 60)
    assert service.healthy == 1
    assert clock.now == 1035.0
    assert lines == [
        "  waiting for the master (0/1 healthy, 60 s left)",
        "  waiting for the master (0/1 healthy, 50 s left)",
        "  waiting for the master (0/1 healthy, 40 s left)",
        "  waiting for the master (0/1 healthy, 30 s left)",
    ]


def test_deadline_names_what_was_seen() -> None:
    clock, lines = Clock(), []
    with pytest.raises(TemporaryError) as caught:
        wait_healthy(engine_for(clock, SlowMaster(clock, 9999.0), lines), "m", "m:1", 20)
    assert str(caught.value) == "master not ready after 20 s (1/1 running, 0 healthy) (m)"
    assert clock.now == 1020.0
