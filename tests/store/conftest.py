"""Fixtures for the state-store tests (helpers live in ``storekit``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from storekit import Child, FakeClock

from ciorch.store import Store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    """An empty store at the current schema, on a WAL file and in memory."""
    path = str(tmp_path / "state.db") if request.param == "file" else ":memory:"
    with Store.open(path, clock=clock) as opened:
        yield opened


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """Start child processes; any still running at the end of the test are killed."""
    children: list[Child] = []

    def start(script: str, *args: str) -> Child:
        child = Child(script, *args)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()
        for stream in (child.proc.stdin, child.proc.stdout, child.proc.stderr):
            if stream is not None:
                stream.close()
