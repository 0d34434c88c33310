"""The command line: exit codes, where errors go, --output json, --help texts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ciorch import __version__
from ciorch.cli import main

ROOT = Path(__file__).parent.parent


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "job_templates", tmp_path / "job_templates")
    return tmp_path / "examples"


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ciorch, version {__version__}"


@pytest.mark.parametrize(
    "group", ["config", "team", "masters", "pool", "hooks", "trigger", "serve", "images"]
)
def test_every_group_explains_itself(runner: CliRunner, group: str) -> None:
    result = runner.invoke(main, [group, "--help"])
    assert result.exit_code == 0
    assert "Usage: main " in result.output or "Usage: ciorch " in result.output
    assert len(result.output.splitlines()) > 4


def test_validate_examples(runner: CliRunner, examples: Path) -> None:
    result = runner.invoke(main, ["config", "validate", str(examples)])
    assert result.exit_code == 0, result.output
    assert "3 team(s)" in result.output


def test_validate_reports_every_problem_on_stderr(runner: CliRunner, examples: Path) -> None:
    team = examples / "teams" / "edge.yaml"
    team.write_text(
        team.read_text().replace("cpus: 2", "cpus: -1", 1).replace("mem: 1024", "mem: 1")
    )
    result = runner.invoke(main, ["config", "validate", str(examples)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[-1] == "2 problem(s) found"
    assert lines[0].endswith("agents.build-go.cpus: -1 is less than the minimum of 0.1")
    assert lines[1].endswith("agents.test-go.mem: 1 is less than the minimum of 64")


def test_validate_json_output(runner: CliRunner, examples: Path) -> None:
    (examples / "teams" / "edge.yaml").write_text("name: edge\n")
    result = runner.invoke(main, ["config", "validate", "-o", "json", str(examples)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert data["problems"] == [
        {
            "file": str(examples / "teams" / "edge.yaml"),
            "line": 1,
            "path": "agents",
            "message": "required field is missing",
        }
    ]


def test_usage_error_for_bad_flag(runner: CliRunner) -> None:
    result = runner.invoke(main, ["config", "validate", "--output", "xml", "x"])
    assert result.exit_code == 2
    assert "Invalid value for '--output'" in result.stderr


def test_errors_print_once_as_error_line(runner: CliRunner, examples: Path) -> None:
    (examples / "ciorch.yaml").write_text("runtime: {kind: nomad}\n")
    result = runner.invoke(main, ["-c", str(examples / "ciorch.yaml"), "serve", "--dry-run"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid configuration (1 problem)\n")
    assert "runtime.kind: 'nomad' is not one of ['docker', 'marathon']" in result.stderr


def test_serve_dry_run_prints_plan(runner: CliRunner, examples: Path) -> None:
    result = runner.invoke(main, ["-c", str(examples / "ciorch.yaml"), "serve", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would listen on 127.0.0.1:8700, runtime docker" in result.output
    assert "teams: edge, karaoke, payments" in result.output


def test_schema_command_prints_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(main, ["config", "schema", "team"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "ciorch team"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"CIORCH_RUNTIME": "Marathon"},
            "environment CIORCH_RUNTIME: 'Marathon' is not one of ['docker', 'marathon']",
        ),
        ({"CIORCH_LISTEN": "nonsense"}, "environment CIORCH_LISTEN: 'nonsense' is not host:port"),
    ],
)
def test_environment_overrides_are_validated(
    runner: CliRunner, examples: Path, env: dict[str, str], message: str
) -> None:
    result = runner.invoke(
        main, ["-c", str(examples / "ciorch.yaml"), "serve", "--dry-run"], env=env
    )
    assert result.exit_code == 1
    assert f"  {message}" in result.stderr.splitlines()


def test_controller_file_of_any_name(runner: CliRunner, examples: Path) -> None:
    renamed = examples / "prod-controller.yaml"
    (examples / "ciorch.yaml").rename(renamed)
    result = runner.invoke(main, ["-c", str(renamed), "serve", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "teams: edge, karaoke, payments" in result.stdout


def test_missing_controller_file_is_named(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["-c", str(tmp_path / "nope.yaml"), "team", "list"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: controller configuration not found (pass --config FILE or set CIORCH_CONFIG) "
        f"({tmp_path / 'nope.yaml'})\n"
    )


def test_team_list_on_a_fresh_installation(runner: CliRunner, examples: Path) -> None:
    result = runner.invoke(main, ["-c", str(examples / "ciorch.yaml"), "team", "list"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "no teams onboarded\n"
    shown = runner.invoke(main, ["-c", str(examples / "ciorch.yaml"), "team", "show", "edge"])
    assert shown.exit_code == 1
    assert shown.stderr == "Error: no such team (team edge)\n"
