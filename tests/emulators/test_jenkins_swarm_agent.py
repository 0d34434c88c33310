"""Jenkins emulator: the Swarm endpoint (API.md A, C4) and the test agent as a process."""

# Fixtures are imported from _jenkins_kit (no conftest here), so parameters shadow them.
# ruff: noqa: F811

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import jenkins
from _jenkins_kit import (  # noqa: F401
    ADMIN,
    client,
    emu,
    executable,
    finished,
    freestyle,
    jnlp_secret,
    raw,
    start_agent,
    stop_process,
)
from _wait import wait_for

import ciorch.testing.agent as agent_module
from ciorch.testing.jenkins import JenkinsEmulator
from ciorch.testing.jenkins.model import agent_secret


def swarm(emu: JenkinsEmulator, **form: str) -> Any:
    fields = {
        "name": "pool",
        "executors": "2",
        "remoteFsRoot": "/home/jenkins",
        "description": "",
        "labels": "linux docker",
        "mode": "NORMAL",
        "hash": "",
        "deleteExistingClients": "false",
        "keepDisconnectedClients": "false",
        **form,
    }
    return raw(emu, "POST", "plugin/swarm/createSlave", data=fields)


def online(client: Any, name: str) -> bool:
    return client.node_exists(name) and not client.get_node_info(name)["offline"]


def test_swarm_create_answers_name_and_secret(emu: JenkinsEmulator, client: Any) -> None:
    answer = swarm(emu, hash="1a2b3c4d", description="ci pool")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    props = dict(line.split("=", 1) for line in answer.text.splitlines() if "=" in line)
    assert props["name"] == "pool-1a2b3c4d"
    assert props["secret"] == agent_secret(emu.key, "pool-1a2b3c4d")
    info = client.get_node_info("pool-1a2b3c4d")
    assert {lab["name"] for lab in info["assignedLabels"]} == {
        "swarm",
        "linux",
        "docker",
        "pool-1a2b3c4d",
    }
    assert info["description"] == "Swarm agent from 127.0.0.1: ci pool"
    assert info["numExecutors"] == 2


def test_swarm_mode_is_upper_case_only(emu: JenkinsEmulator, client: Any) -> None:
    assert swarm(emu, name="ex", mode="EXCLUSIVE").status_code == 200
    mode = raw(emu, "GET", "label/ex/api/json?tree=nodes[mode]").json()["nodes"][0]["mode"]
    assert mode == "EXCLUSIVE"
    assert swarm(emu, name="lower", mode="exclusive").status_code == 500
    assert not client.node_exists("lower")


def test_swarm_conflicts(emu: JenkinsEmulator, client: Any) -> None:
    assert swarm(emu).status_code == 200
    conflict = swarm(emu)
    assert conflict.status_code == 409
    assert conflict.text.strip().endswith('Agent "pool" already exists.</body></html>')
    assert swarm(emu, deleteExistingClients="true").status_code == 200
    first = swarm(emu, hash="00000001")
    secret = dict(line.split("=", 1) for line in first.text.splitlines())["secret"]
    proc = start_agent(emu, "--name", "pool-00000001", "--secret", secret)
    try:
        wait_for(lambda: online(client, "pool-00000001"))
        again = swarm(emu, hash="00000001")
        assert again.status_code == 409
        assert 'Agent "pool-00000001" is already created and on-line.' in again.text
    finally:
        stop_process(proc)


def test_inbound_agent_process_runs_shell_steps(emu: JenkinsEmulator, client: Any) -> None:
    client.create_node("worker", labels="linux", launcher=jenkins.LAUNCHER_JNLP)
    steps = ('echo "hello-$PARAM on $NODE_NAME"; test "$WORKSPACE" = "$(pwd)"', "echo second")
    client.create_job("sh", freestyle(label="linux", params={"PARAM": "dflt"}, steps=steps))
    client.create_job("fail", freestyle(label="linux", steps=("echo before; exit 3",)))
    queue_id = client.build_job("sh", {"PARAM": "x"})
    proc = start_agent(emu, "--name", "worker", "--secret", jnlp_secret(emu, "worker"))
    try:
        executable(client, queue_id, timeout=10)
        done = finished(client, "sh", 1, timeout=10)
        assert done["result"] == "SUCCESS"
        assert done["builtOn"] == "worker"
        console = client.get_build_console_output("sh", 1)
        assert "hello-x on worker" in console
        assert "+ echo second" in console
        assert console.rstrip().endswith("Finished: SUCCESS")
        executable(client, client.build_job("fail"))
        assert finished(client, "fail", 1, timeout=10)["result"] == "FAILURE"
        console = client.get_build_console_output("fail", 1)
        assert "before" in console
        assert "Build step 'Execute shell' marked build as failure" in console
    finally:
        assert stop_process(proc) == 0
    assert client.get_node_info("worker")["offline"] is True


def test_stop_kills_the_running_step(emu: JenkinsEmulator, client: Any) -> None:
    client.create_node("w", launcher=jenkins.LAUNCHER_JNLP)
    client.create_job("sleepy", freestyle(label="w", steps=("echo start; sleep 30",)))
    proc = start_agent(emu, "--name", "w", "--secret", jnlp_secret(emu, "w"))
    try:
        executable(client, client.build_job("sleepy"), timeout=10)
        wait_for(lambda: "start" in client.get_build_console_output("sleepy", 1), timeout=10)
        client.stop_build("sleepy", 1)
        assert finished(client, "sleepy", 1, timeout=10)["result"] == "ABORTED"
    finally:
        stop_process(proc)


def test_agent_process_killed_mid_build_fails_it(emu: JenkinsEmulator, client: Any) -> None:
    client.create_node("doomed", launcher=jenkins.LAUNCHER_JNLP)
    client.create_job("j", freestyle(label="doomed", steps=("echo go; sleep 30",)))
    proc = start_agent(emu, "--name", "doomed", "--secret", jnlp_secret(emu, "doomed"))
    try:
        executable(client, client.build_job("j"), timeout=10)
        wait_for(lambda: "go" in client.get_build_console_output("j", 1), timeout=10)
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        done = finished(client, "j", 1, timeout=10)  # heartbeat timeout (1.5 s here)
        assert done["result"] == "FAILURE"
        assert "Agent went offline during the build" in client.get_build_console_output("j", 1)
        assert client.get_node_info("doomed")["offlineCauseReason"] == "Connection was broken"
    finally:
        stop_process(proc)


def test_swarm_agent_process_registers_runs_and_goes_away(
    emu: JenkinsEmulator, client: Any
) -> None:
    client.create_job("pooljob", freestyle(label="pool-label", steps=("echo swarm-$NODE_NAME",)))
    proc = start_agent(
        emu,
        "--swarm",
        "--username",
        ADMIN[0],
        "--password",
        ADMIN[1],
        "--name",
        "sw",
        "--labels",
        "pool-label extra",
        "--executors",
        "2",
    )
    try:
        name = wait_for(
            lambda: next(
                (n["name"] for n in client.get_nodes() if n["name"].startswith("sw-")), None
            ),
            timeout=10,
        )
        assert len(name) == len("sw-") + 8
        wait_for(lambda: online(client, name), timeout=10)
        executable(client, client.build_job("pooljob"), timeout=10)
        assert finished(client, "pooljob", 1, timeout=10)["result"] == "SUCCESS"
        assert f"swarm-{name}" in client.get_build_console_output("pooljob", 1)
    finally:
        assert stop_process(proc) == 0
    # SwarmLauncher.afterDisconnect: removed at once without -keepDisconnectedClients
    assert not client.node_exists(name)


def test_kept_swarm_node_stays_offline(emu: JenkinsEmulator, client: Any) -> None:
    answer = swarm(emu, name="keep", keepDisconnectedClients="true")
    secret = dict(line.split("=", 1) for line in answer.text.splitlines())["secret"]
    proc = start_agent(emu, "--name", "keep", "--secret", secret)
    try:
        wait_for(lambda: online(client, "keep"), timeout=10)
    finally:
        stop_process(proc)
    assert client.get_node_info("keep")["offline"] is True


def test_agent_runs_as_a_single_standalone_file(
    emu: JenkinsEmulator, client: Any, tmp_path: Path
) -> None:
    copy = tmp_path / "agent.py"
    shutil.copy(agent_module.__file__, copy)
    client.create_node("solo", launcher=jenkins.LAUNCHER_JNLP)
    client.create_job("s", freestyle(label="solo", steps=("echo standalone-ok",)))
    proc = subprocess.Popen(
        [sys.executable, "-I", str(copy), "--url", emu.url, "--work-dir", str(tmp_path / "w")],
        env={
            "AGENT_NAME": "solo",
            "AGENT_SECRET": jnlp_secret(emu, "solo"),
            "PATH": "/usr/bin:/bin",
        },
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        executable(client, client.build_job("s"), timeout=10)
        assert finished(client, "s", 1, timeout=10)["result"] == "SUCCESS"
        assert "standalone-ok" in client.get_build_console_output("s", 1)
        assert (tmp_path / "w" / "workspace" / "s").is_dir()
    finally:
        assert stop_process(proc) == 0


def test_agent_cli_rejects_incomplete_arguments(emu: JenkinsEmulator) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ciorch.testing.agent", "--url", emu.url, "--name", "x"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 2
    assert "--secret" in done.stderr


def test_swarm_without_credentials_is_refused(emu: JenkinsEmulator) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ciorch.testing.agent", "--url", emu.url, "--swarm", "--retry", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 1
    assert "403" in done.stderr


def test_swarm_agent_registers_again_after_a_restart(emu: JenkinsEmulator, client: Any) -> None:
    proc = start_agent(
        emu,
        "--swarm",
        "--password",
        ADMIN[1],
        "--name",
        "again",
        "--retry-interval",
        "0.2",
    )
    try:

        def node_name() -> str | None:
            found = [n for n in client.get_nodes() if n["name"].startswith("again-")]
            return found[0]["name"] if found and not found[0]["offline"] else None

        name = wait_for(node_name, timeout=10)
        emu.restart(keep_state=True)  # swarm nodes are ephemeral: gone after a restart
        fresh = jenkins.Jenkins(emu.url, *ADMIN, timeout=5)
        assert wait_for(
            lambda: fresh.node_exists(name) and not fresh.get_node_info(name)["offline"], timeout=10
        )
    finally:
        assert stop_process(proc) == 0
