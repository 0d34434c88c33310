"""One command at a time changes an installation; a crashed one never leaves it locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _wait import wait_for

from ciorch.engine.context import InstanceLock
from ciorch.errors import TemporaryError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_second_holder_waits_then_gets_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "ciorch.db"
    first = InstanceLock(state)
    first.acquire(timeout=1)
    clock = FakeClock()
    with pytest.raises(TemporaryError) as caught:
        InstanceLock(state).acquire(timeout=3, clock=clock, sleep=clock.sleep)
    assert str(caught.value) == (
        f"another ciorch command (pid {os.getpid()}) is changing this installation; "
        f"try again when it has finished ({state}.lock)"
    )
    assert clock.now == pytest.approx(3.0, abs=0.21)  # it waited the whole timeout
    first.release()
    second = InstanceLock(state)
    second.acquire(timeout=0)
    second.release()


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "ciorch.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys\n"
            "from ciorch.engine.context import InstanceLock\n"
            "InstanceLock(sys.argv[1]).acquire(timeout=5)\n"
            "print('held', flush=True)\n"
            "signal.pause()\n",
            str(state),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert wait_for(holder.stdout.readline, timeout=30) == "held\n"
        with pytest.raises(TemporaryError, match=rf"pid {holder.pid}\)"):
            InstanceLock(state).acquire(timeout=0)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        lock = InstanceLock(state)
        lock.acquire(timeout=0)
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
