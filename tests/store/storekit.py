"""Helpers for the state-store tests: a fake clock, and a child Python process whose
output lines can be awaited with a deadline."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Child:
    """A ``python -c`` child process; the test awaits its output lines with a deadline
    (no fixed sleeps) and kills it if it is still running at the end."""

    def __init__(self, script: str, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        self._buffer = b""
        self.lines: list[str] = []

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60.0) -> str:
        """Read lines until one satisfies ``predicate``; fail at the deadline or if the
        child exits first (showing its stderr)."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._fd, selectors.EVENT_READ)
            while True:
                while b"\n" in self._buffer:
                    raw, self._buffer = self._buffer.split(b"\n", 1)
                    line = raw.decode()
                    self.lines.append(line)
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    pytest.fail(f"child gave no matching line in {timeout}s: {self.stderr()}")
                if selector.select(remaining):
                    chunk = os.read(self._fd, 65536)
                    if not chunk:
                        self.proc.wait(timeout=timeout)
                        pytest.fail(f"child exited ({self.proc.returncode}) first: {self.stderr()}")
                    self._buffer += chunk

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def drain(self) -> list[str]:
        """After the child exited: read what it wrote that was not yet read, and return
        every complete line it wrote (an unfinished last line is dropped)."""
        assert self.proc.poll() is not None, "drain() needs the child to have exited"
        while chunk := os.read(self._fd, 65536):
            self._buffer += chunk
        *complete, self._buffer = self._buffer.split(b"\n")
        self.lines += [raw.decode() for raw in complete]
        return self.lines

    def kill(self) -> None:
        """SIGKILL the child (if still running) and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def finish(self, timeout: float = 60.0) -> int:
        """Close stdin, wait for the child to exit and return its exit code."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=timeout)

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read().decode(errors="replace")
