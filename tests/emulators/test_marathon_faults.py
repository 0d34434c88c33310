"""Marathon emulator fault knobs (attributes and the admin endpoint), auth, and the
``python -m ciorch.testing.marathon`` entry point."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from _wait import wait_for
from marathon import MarathonApp
from marathon.exceptions import InternalServerError, MarathonError, MarathonHttpError

from ciorch.adapters import marathon_compat
from ciorch.testing.marathon import MarathonEmulator


@pytest.fixture
def emu() -> Iterator[MarathonEmulator]:
    with MarathonEmulator(deployment_seconds=0.05, seed=7) as emulator:
        yield emulator


def refused(url: str) -> bool:
    try:
        requests.get(f"{url}/ping", timeout=1)
    except requests.ConnectionError:
        return True
    return False


def test_down_refuses_connections_and_up_keeps_state(emu: MarathonEmulator) -> None:
    mc = marathon_compat.client(emu.url, timeout=2)
    mc.create_app("/a", MarathonApp(cmd="sleep 1"))
    emu.down()
    assert refused(emu.url)
    with pytest.raises(MarathonError, match="No remaining Marathon servers"):
        mc.list_apps()
    emu.up()
    assert [a.id for a in mc.list_apps()] == ["/a"]


def test_error_rate_answers_the_configured_status(emu: MarathonEmulator) -> None:
    mc = marathon_compat.client(emu.url, timeout=2)
    emu.error_rate, emu.error_status = 1.0, 503
    with pytest.raises(InternalServerError) as info:
        mc.list_apps()
    assert info.value.status_code == 503
    emu.error_rate = 0.5
    statuses = [requests.get(f"{emu.url}/v2/apps", timeout=2).status_code for _ in range(40)]
    assert {200, 503} == set(statuses)
    emu.error_rate = 0.0
    assert mc.list_apps() == []


def test_error_sequence_is_reproducible_with_a_seed() -> None:
    def run() -> list[int]:
        with MarathonEmulator(seed=42) as emulator:
            emulator.error_rate, emulator.error_status = 0.5, 500
            return [
                requests.get(f"{emulator.url}/v2/apps", timeout=2).status_code for _ in range(12)
            ]

    assert run() == run()


def test_latency_delays_answers(emu: MarathonEmulator) -> None:
    emu.latency = 0.2
    started = time.monotonic()
    requests.get(f"{emu.url}/v2/apps", timeout=2)
    assert time.monotonic() - started >= 0.2


def test_admin_endpoint_sets_faults_and_downtime(emu: MarathonEmulator) -> None:
    answer = requests.post(
        f"{emu.url}/ciorch-admin/faults",
        json={"latency": 0.01, "error_rate": 0.0, "error_status": 500},
        timeout=2,
    )
    assert answer.json() == {"latency": 0.01, "error_rate": 0.0, "error_status": 500}
    assert emu.latency == 0.01
    requests.post(f"{emu.url}/ciorch-admin/faults", json={"down_seconds": 0.5}, timeout=2)
    wait_for(lambda: refused(emu.url), timeout=2)
    wait_for(lambda: not refused(emu.url), timeout=5)


def test_restart_with_and_without_state(emu: MarathonEmulator) -> None:
    mc = marathon_compat.client(emu.url, timeout=2)
    mc.create_app("/keep", MarathonApp(cmd="sleep 1"))
    wait_for(lambda: mc.list_tasks("/keep"))
    emu.restart(keep_state=True)
    assert [a.id for a in mc.list_apps()] == ["/keep"]
    response = requests.post(
        f"{emu.url}/ciorch-admin/restart", json={"keep_state": False}, timeout=2
    )
    assert response.status_code == 202

    def emptied() -> bool:
        try:
            return bool(mc.list_apps() == [])
        except MarathonError:  # down for a moment while it restarts
            return False

    wait_for(emptied, timeout=5)
    wait_for(lambda: mc.list_tasks() == [], timeout=5)


def test_credentials_are_required_when_set() -> None:
    with MarathonEmulator(credentials=("ci", "secret")) as emulator:
        anonymous = requests.get(f"{emulator.url}/v2/apps", timeout=2)
        assert anonymous.status_code == 401
        with pytest.raises(MarathonHttpError) as info:
            marathon_compat.client(emulator.url, "ci", "wrong").list_apps()
        assert info.value.status_code == 401
        assert marathon_compat.client(emulator.url, "ci", "secret").list_apps() == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_module_entry_point_serves_until_sigterm() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ciorch.testing.marathon",
            "--port",
            str(port),
            "--deployment-seconds",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: not refused(url), timeout=15)
        mc: Any = marathon_compat.client(url, timeout=2)
        mc.create_app("/cli", MarathonApp(cmd="sleep 1"))
        wait_for(lambda: mc.get_app("/cli").tasks_running == 1)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    assert refused(url)


def test_admin_endpoint_needs_the_credentials_too() -> None:
    with MarathonEmulator(credentials=("u", "p")) as emu:
        anonymous = requests.post(emu.url + "/ciorch-admin/faults", json={"latency": 1}, timeout=5)
        assert anonymous.status_code == 401
        ok = requests.post(
            emu.url + "/ciorch-admin/faults", json={"latency": 0}, auth=("u", "p"), timeout=5
        )
        assert ok.status_code == 200


def test_a_stopped_emulator_never_listens_again() -> None:
    emu = MarathonEmulator().start()
    port = emu.port
    emu.stop()
    emu.up()  # what a pending "down for N seconds" would do when it ends
    emu.restart()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
