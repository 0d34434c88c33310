"""Jenkins emulator: fault knobs (down, latency, 5xx with a seeded RNG, restart) and the
``python -m ciorch.testing.jenkins`` process with its admin endpoint."""

# Fixtures are imported from _jenkins_kit (no conftest here), so parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from typing import Any

import jenkins
import pytest
import requests
from _jenkins_kit import ADMIN, client, emu, executable, freestyle, raw  # noqa: F401
from _wait import wait_for

from ciorch.testing.jenkins import JenkinsEmulator, VirtualAgent


def refused(url: str) -> bool:
    try:
        requests.get(url + "login", timeout=2)
    except requests.ConnectionError:
        return True
    return False


def test_down_closes_the_socket_and_up_listens_again(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("survives", freestyle())
    emu.set_down(True)
    assert refused(emu.url)
    with pytest.raises(requests.ConnectionError):
        client.get_info()
    emu.set_down(False)
    assert client.job_exists("survives")
    emu.down = True  # the same knob as a property
    assert refused(emu.url)
    emu.down = False
    assert not refused(emu.url)


def test_latency_is_added_per_request(emu: JenkinsEmulator, client: Any) -> None:
    client.get_info()
    emu.set_faults(latency=0.3)
    started = time.monotonic()
    client.get_info()
    assert time.monotonic() - started >= 0.3
    emu.set_faults(latency=0.0)


def test_error_rate_with_status_and_seed(emu: JenkinsEmulator, client: Any) -> None:
    emu.set_faults(error_rate=1.0, error_status=503)
    answer = raw(emu, "GET", "api/json")
    assert answer.status_code == 503
    with pytest.raises(jenkins.BadHTTPException):  # get_whoami wraps the raw 503 HTTPError
        client.get_whoami()
    with pytest.raises(requests.HTTPError):  # other calls let a 503 through unmapped
        client.build_job("whatever")
    emu.set_faults(error_status=500)
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
        client.get_whoami()

    def pattern() -> list[int]:
        emu.set_faults(error_rate=0.5, error_status=503, seed=42)
        return [raw(emu, "GET", "api/json").status_code for _ in range(12)]

    first = pattern()
    assert first == pattern()
    assert {200, 503} == set(first)
    emu.set_faults(error_rate=0.0)
    assert raw(emu, "GET", "api/json").status_code == 200
    with pytest.raises(ValueError, match="5xx"):
        emu.set_faults(error_status=404)


def test_restart_keeping_state(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("kept", freestyle(label="nowhere"))
    client.create_node("perm")
    VirtualAgent.swarm(emu, "ephemeral")
    queue_id = client.build_job("kept")
    emu.restart(keep_state=True)
    fresh = jenkins.Jenkins(emu.url, *ADMIN, timeout=5)  # sessions and crumbs are gone
    assert fresh.job_exists("kept")
    assert fresh.node_exists("perm")
    assert not fresh.node_exists("ephemeral")
    assert fresh.get_queue_item(queue_id)["buildable"] is True


def test_restart_without_state(emu: JenkinsEmulator, client: Any) -> None:
    client.create_job("lost", freestyle())
    port = emu.port
    emu.restart(keep_state=False)
    assert emu.port == port
    assert not client.job_exists("lost")
    assert [n["name"] for n in client.get_nodes()] == ["Built-In Node"]


def test_restart_aborts_running_builds(emu: JenkinsEmulator, client: Any) -> None:
    VirtualAgent.create(emu, "a")
    client.create_job("run", freestyle(seconds=30))
    executable(client, client.build_job("run"))
    emu.restart(keep_state=True)
    assert client.get_build_info("run", 1)["result"] == "ABORTED"
    assert client.get_node_info("a")["offline"] is True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_module_process_and_admin_endpoint() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ciorch.testing.jenkins",
            "--port",
            str(port),
            "--admin",
            "boss:tok",
            "--quiet-period",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: not refused(url), timeout=10)
        client = jenkins.Jenkins(url, "boss", "tok", timeout=5)
        assert client.get_whoami()["id"] == "boss"
        answer = requests.post(
            url + "ciorch-admin/faults",
            json={"error_rate": 1.0, "error_status": 500, "seed": 1},
            auth=("boss", "tok"),
            timeout=5,
        )
        assert answer.json()["error_rate"] == 1.0
        assert requests.get(url + "api/json", auth=("boss", "tok"), timeout=5).status_code == 500
        requests.post(
            url + "ciorch-admin/faults", json={"error_rate": 0}, auth=("boss", "tok"), timeout=5
        )
        requests.post(
            url + "ciorch-admin/faults",
            json={"down": True, "down_for": 0.5},
            auth=("boss", "tok"),
            timeout=5,
        )
        wait_for(lambda: refused(url), timeout=5)
        wait_for(lambda: not refused(url), timeout=5)
        client.create_job("j", freestyle())
        requests.post(
            url + "ciorch-admin/restart", json={"keep_state": True}, auth=("boss", "tok"), timeout=5
        )
        wait_for(lambda: not refused(url) and client.job_exists("j"), timeout=5)
        assert requests.post(url + "ciorch-admin/faults", json={}, timeout=5).status_code == 403
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert refused(url)


def test_non_ascii_credentials_are_refused_not_crashed() -> None:
    with JenkinsEmulator(("admin", "tok")).start() as emu:
        bad = requests.get(emu.url + "api/json", auth=("admin", "pässwörd"), timeout=5)
        assert bad.status_code == 401


def test_a_stopped_emulator_never_listens_again() -> None:
    emu = JenkinsEmulator(("admin", "tok")).start()
    port = emu.port
    answer = requests.post(
        emu.url + "ciorch-admin/faults",
        json={"down": True, "down_for": 30},
        auth=("admin", "tok"),
        timeout=5,
    )
    assert answer.status_code == 200
    emu.stop()
    emu.set_down(False)  # what the pending "up again" timer would do
    emu.restart()  # and a pending restart
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
