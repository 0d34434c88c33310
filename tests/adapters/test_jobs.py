"""Team jobs rendered by jenkins-job-builder from job_templates/."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from ciorch.adapters.jobs import render_team_jobs
from ciorch.config import JobSpec, load_fleet
from ciorch.errors import PermanentError

ROOT = Path(__file__).parent.parent.parent
TEMPLATES = ROOT / "job_templates"


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    return load_fleet([ROOT / "examples"])


def test_every_example_job_renders_with_its_label(fleet) -> None:  # type: ignore[no-untyped-def]
    for team in fleet.teams:
        rendered = render_team_jobs(team, TEMPLATES)
        assert sorted(rendered) == sorted(j.name for j in team.jobs)
        for job in team.jobs:
            root = ET.fromstring(rendered[job.name])
            if root.tag == "project":  # freestyle: tied to the agent template's label
                assert root.findtext("assignedNode") == job.label
                assert root.findtext("canRoam") == "false"
            else:  # pipeline: the label is used inside the script
                assert root.tag == "flow-definition"
                assert f"node('{job.label}')" in (root.findtext(".//script") or "")


def test_params_reach_the_shell_step_with_braces_kept(fleet) -> None:  # type: ignore[no-untyped-def]
    team = fleet.team("karaoke")
    job = JobSpec(
        name="k-x", template="php-test", label="build-php", params={"command": "echo ${X} {y}"}
    )
    rendered = render_team_jobs(replace(team, jobs=(job,)), TEMPLATES)
    command = ET.fromstring(rendered["k-x"]).findtext(".//hudson.tasks.Shell/command")
    assert command is not None
    assert "echo ${X} {y}" in command
    assert "Managed by Jenkins Job Builder" not in rendered["k-x"]


def test_unknown_template_is_a_clear_error(fleet) -> None:  # type: ignore[no-untyped-def]
    team = fleet.team("edge")
    job = JobSpec(name="e", template="rust-build", label="build-go")
    with pytest.raises(PermanentError, match=r"unknown job template\(s\) rust-build"):
        render_team_jobs(replace(team, jobs=(job,)), TEMPLATES)
