"""The Jenkins adapter against the emulator: ciorch's types and errors, never the
client's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ciorch.adapters.jenkins import JenkinsClient
from ciorch.errors import NotFoundError, PermanentError, TemporaryError
from ciorch.testing.jenkins import JenkinsEmulator

JOB = (
    "<project><assignedNode>build-php</assignedNode><canRoam>false</canRoam>"
    "<builders><hudson.tasks.Shell><command>true</command></hudson.tasks.Shell></builders>"
    "</project>"
)


@pytest.fixture
def emulator() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(("admin", "tok")).start() as emu:
        yield emu


@pytest.fixture
def client(emulator: JenkinsEmulator) -> JenkinsClient:
    return JenkinsClient(emulator.url, "admin", "tok")


def test_missing_things_are_none_or_not_found(client: JenkinsClient) -> None:
    assert client.queue_item(999) is None
    assert client.build_info("nojob", 1) is None
    assert client.job_config("nojob") is None
    client.delete_node("nope")  # already gone: fine
    with pytest.raises(NotFoundError):
        client.set_offline("nope")
    with pytest.raises(NotFoundError):
        client.delete_job("nojob")


def test_refusals_are_permanent(client: JenkinsClient, emulator: JenkinsEmulator) -> None:
    client.create_job("build", JOB)
    with pytest.raises(PermanentError) as caught:
        client.create_job("build", JOB)
    assert "already exists" in str(caught.value)
    bad = JenkinsClient(emulator.url, "admin", "wrong")
    with pytest.raises(PermanentError, match=r"refused the credentials \(HTTP 401\)"):
        bad.jobs()


def test_queue_item_carries_the_label_and_the_build_number(client: JenkinsClient) -> None:
    client.create_job("build", JOB)
    queue_id = client.build("build")
    [item] = client.queue()
    assert (item.id, item.job, item.label, item.buildable) == (queue_id, "build", "build-php", True)
    assert item.why == "Waiting for next available executor"


def test_down_and_failing_masters_are_temporary(emulator: JenkinsEmulator) -> None:
    client = JenkinsClient(emulator.url, "admin", "tok", timeout=2)
    emulator.set_faults(error_rate=1.0, error_status=503)
    with pytest.raises(TemporaryError, match=r"HTTP 503"):
        client.jobs()
    emulator.set_faults(error_rate=0.0)
    emulator.set_down(True)
    with pytest.raises(TemporaryError, match="does not answer"):
        client.jobs()
