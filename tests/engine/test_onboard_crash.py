"""A ciorch killed in the middle of onboarding loses nothing and leaks nothing: running
the command again finishes the job with the same master and the same credential."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import pytest
from _engine_kit import Controller
from _wait import wait_for

from ciorch.engine.onboard import onboard_team
from ciorch.model import MasterState, TeamId
from ciorch.model.runtime import LABEL_OWNER
from ciorch.plan.onboard import MasterAction

pytestmark = pytest.mark.docker


def test_sigkill_during_the_wait_then_rerun_converges(
    docker_controller: Controller, docker_client: Any
) -> None:
    env = {**os.environ, "CIORCH_OWNER": docker_controller.owner}
    team_file = docker_controller.root / "teams" / "edge.yaml"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ciorch",
            "-c",
            str(docker_controller.config),
            "team",
            "onboard",
            str(team_file),
            "--timeout",
            "60",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    label = f"{LABEL_OWNER}={docker_controller.owner}"
    try:
        # killed as soon as its master container exists, before it configured anything
        # (it polls the master's health once a second, so it is still waiting then)
        wait_for(lambda: docker_client.containers.list(all=True, filters={"label": label}), 60)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert len(docker_client.containers.list(all=True, filters={"label": label})) == 1
    team = docker_controller.fleet().team("edge")
    assert team is not None
    with docker_controller.engine() as engine:
        assert engine.store.get_master(TeamId("edge")).state is MasterState.DEPLOYING
        secret = engine.store.get_credential(TeamId("edge")).secret
        result = onboard_team(engine, team, timeout=60)
        assert result.plan.master is MasterAction.KEEP  # the master it started is kept
        assert result.new_secret is None
        assert engine.store.get_credential(TeamId("edge")).secret == secret
        assert engine.store.get_master(TeamId("edge")).state is MasterState.HEALTHY
        assert sorted(engine.store.managed_jobs(TeamId("edge"))) == [
            "edge-build",
            "edge-integration",
        ]
    assert len(docker_client.containers.list(all=True, filters={"label": label})) == 1
