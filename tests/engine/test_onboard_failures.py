"""Onboarding and upgrades that cannot succeed end with a clear error and leave nothing
half-made behind; and what an earlier step deliberately kept is not destroyed."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from _engine_kit import ROOT, Controller, write_controller
from click.testing import CliRunner

from ciorch.cli import main
from ciorch.engine.masters import upgrade_masters
from ciorch.engine.onboard import offboard_team, onboard_team
from ciorch.errors import TemporaryError
from ciorch.model import MasterState, TeamId
from ciorch.model.runtime import LABEL_OWNER
from ciorch.plan.onboard import MasterAction


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


def test_secret_file_in_a_missing_folder_is_refused_before_anything(tmp_path: Path) -> None:
    write_controller(tmp_path, "ciorch/master-emulator:latest")
    result = CliRunner().invoke(
        main,
        [
            "-c",
            str(tmp_path / "ciorch.yaml"),
            "team",
            "onboard",
            "--secret-file",
            str(tmp_path / "nodir" / "pw"),
            str(tmp_path / "teams" / "edge.yaml"),
        ],
    )
    assert result.exit_code == 2
    assert f"--secret-file: folder {tmp_path / 'nodir'} does not exist" in result.stderr
    assert not (tmp_path / "state").exists()


@pytest.mark.docker
def test_dry_run_prints_the_plan_and_changes_nothing(
    docker_controller: Controller, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIORCH_OWNER", docker_controller.owner)
    result = CliRunner().invoke(
        main,
        [
            "-c",
            str(docker_controller.config),
            "team",
            "onboard",
            "--dry-run",
            str(docker_controller.root / "teams" / "karaoke.yaml"),
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
    label = f"{LABEL_OWNER}={docker_controller.owner}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []


def volumes(docker_client: Any, controller: Controller) -> list[str]:
    prefix = controller.owner + "-"
    return sorted(v.name for v in docker_client.volumes.list() if v.name.startswith(prefix))


@pytest.mark.docker
def test_master_that_never_becomes_healthy_leaves_no_half_made_team(
    docker_controller: Controller, docker_client: Any, broken_master_image: str
) -> None:
    team = docker_controller.fleet().team("edge")
    assert team is not None
    broken = replace(team, master=replace(team.master, image=broken_master_image))
    with docker_controller.engine() as engine:
        with pytest.raises(TemporaryError, match=r"^master not ready after 4 s"):
            onboard_team(engine, broken, timeout=4)
        assert engine.store.list_teams() == []
        assert engine.store.list_masters() == []
    label = f"{LABEL_OWNER}={docker_controller.owner}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []
    assert volumes(docker_client, docker_controller) == []


@pytest.mark.docker
def test_failed_reonboarding_keeps_the_jenkins_home_offboarding_kept(
    docker_controller: Controller, docker_client: Any
) -> None:
    team = docker_controller.fleet().team("edge")
    assert team is not None
    with docker_controller.engine() as engine:
        onboard_team(engine, team, timeout=60)
        offboard_team(engine, "edge")  # keeps JENKINS_HOME
        kept = volumes(docker_client, docker_controller)
        assert kept == [f"{docker_controller.owner}-edge-jenkins-home"]
        broken = replace(team, master=replace(team.master, image="ciorch/no-such-master:1"))
        with pytest.raises(Exception, match="does not exist"):
            onboard_team(engine, broken, timeout=5)
        assert volumes(docker_client, docker_controller) == kept
        assert engine.store.list_teams() == []
        # purging later removes a volume whose team is otherwise gone
        lines = offboard_team(engine, "edge", purge=True)
        assert lines == ["delete the JENKINS_HOME volume of edge"]
    assert volumes(docker_client, docker_controller) == []


@pytest.mark.docker
def test_changed_resources_replace_the_master_and_keep_its_jobs(
    docker_controller: Controller,
) -> None:
    team = docker_controller.fleet().team("edge")
    assert team is not None
    with docker_controller.engine() as engine:
        first = onboard_team(engine, team, timeout=60)
        before = engine.runtime.get_service(engine.runtime.service_id("edge", "master"))
        bigger = replace(team, master=replace(team.master, mem=3072))
        plan = onboard_team(engine, bigger, dry_run=True).plan
        assert plan.master is MasterAction.REPLACE
        again = onboard_team(engine, bigger, timeout=60)
        after = engine.runtime.get_service(engine.runtime.service_id("edge", "master"))
        assert before is not None
        assert after is not None
        assert after.tasks[0].id != before.tasks[0].id
        assert again.plan.jobs.changes == 0  # JENKINS_HOME kept the jobs
        assert again.url == first.url


@pytest.mark.docker
def test_upgrade_to_a_missing_image_rolls_the_canary_back(
    docker_controller: Controller,
) -> None:
    fleet = docker_controller.fleet()
    with docker_controller.engine() as engine:
        for name in ("edge", "karaoke"):
            team = fleet.team(name)
            assert team is not None
            onboard_team(engine, team, timeout=60)
        report = upgrade_masters(engine, fleet, "ciorch/no-such-master:2", timeout=20)
        assert not report.completed
        assert report.lines[0].startswith("canary: edge: failed: image ciorch/no-such-master:2")
        assert "stopped: not upgraded: karaoke" in report.lines
        record = engine.store.get_master(TeamId("edge"))
        assert record.state is MasterState.ROLLED_BACK
        assert record.image == "ciorch/master-emulator:latest"
        service = engine.runtime.get_service(engine.runtime.service_id("edge", "master"))
        assert service is not None
        assert service.healthy == 1
