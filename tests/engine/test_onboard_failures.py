"""Onboarding that cannot succeed ends with a clear error and leaves nothing behind."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from _engine_kit import ROOT, write_controller
from click.testing import CliRunner

from ciorch.adapters.docker_runtime import DockerRuntime
from ciorch.cli import main
from ciorch.config import load_fleet
from ciorch.engine.context import open_engine
from ciorch.engine.onboard import onboard_team
from ciorch.errors import TemporaryError
from ciorch.model.runtime import LABEL_OWNER


def test_unreachable_runtime_changes_nothing(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "teams", tmp_path / "teams")
    config = tmp_path / "ciorch.yaml"
    config.write_text(
        "runtime:\n  kind: docker\n  docker: {base_url: 'tcp://127.0.0.1:1'}\n"
        f"templates_dir: {ROOT / 'job_templates'}\n"
        "defaults: {master_image: ciorch/master-emulator:latest}\n"
    )
    result = CliRunner().invoke(
        main, ["-c", str(config), "team", "onboard", str(tmp_path / "teams" / "edge.yaml")]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the Docker engine does not answer (connection refused); is dockerd running? "
        "(tcp://127.0.0.1:1)\n"
    )
    assert not (tmp_path / "state").exists()


@pytest.mark.docker
def test_dry_run_prints_the_plan_and_changes_nothing(
    tmp_path: Path, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIORCH_OWNER", "e2e-dry-run")  # not the installation's own masters
    write_controller(tmp_path, "ciorch/master-emulator:latest")
    result = CliRunner().invoke(
        main,
        [
            "-c",
            str(tmp_path / "ciorch.yaml"),
            "team",
            "onboard",
            "--dry-run",
            str(tmp_path / "teams" / "karaoke.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "team karaoke:",
        "  create master from ciorch/master-emulator:latest",
        "  create admin credential for admin",
        "  apply Configuration-as-Code",
        "  create job karaoke-package",
        "  create job karaoke-tests",
    ]
    assert "(dry run: nothing changed)" in result.stderr
    assert (
        docker_client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}=e2e-dry-run"})
        == []
    )


@pytest.mark.docker
def test_master_that_never_becomes_healthy_leaves_no_half_made_team(
    tmp_path: Path, docker_client: Any, broken_master_image: str
) -> None:
    owner = "e2e-broken"
    write_controller(tmp_path, broken_master_image)
    fleet = load_fleet([tmp_path / "ciorch.yaml"])
    team = fleet.team("edge")
    assert team is not None
    assert fleet.controller is not None
    runtime = DockerRuntime(owner=owner, master_ports=(18700, 18799))
    with open_engine(fleet.controller, runtime=runtime) as engine:
        with pytest.raises(TemporaryError, match=r"^master not ready after 4 s"):
            onboard_team(engine, team, timeout=4)
        assert engine.store.list_teams() == []
        assert engine.store.list_masters() == []
    assert (
        docker_client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={owner}"}) == []
    )
    assert docker_client.volumes.list(filters={"name": f"{owner}-edge-jenkins-home"}) == []
