"""The team and masters commands end to end on the local Docker engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ciorch.cli import main
from ciorch.model.runtime import LABEL_OWNER

pytestmark = pytest.mark.docker


@pytest.fixture
def cli(docker_controller: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CIORCH_OWNER", docker_controller.owner)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(main, ["-c", str(docker_controller.config), *args])

    return run


def test_onboard_list_show_status_offboard(
    cli: Any, tmp_path: Path, docker_client: Any, owner: str
) -> None:
    secret = tmp_path / "edge.admin"
    result = cli(
        "team",
        "onboard",
        str(tmp_path / "teams" / "edge.yaml"),
        "--secret-file",
        str(secret),
        "--timeout",
        "60",
    )
    assert result.exit_code == 0, result.output
    assert "master:   http://127.0.0.1:187" in result.stdout
    assert "jobs:     edge-build, edge-integration" in result.stdout
    assert "edge: create master from ciorch/master-emulator:latest" in result.stderr
    assert "edge: master answers at http://127.0.0.1:187" in result.stderr
    assert (secret.stat().st_mode & 0o777) == 0o600
    assert len(secret.read_text().strip()) >= 24
    assert secret.read_text().strip() not in result.output  # never printed when filed

    listed = json.loads(cli("team", "list", "-o", "json").stdout)
    assert [(t["team"], t["master"], t["jobs"]) for t in listed] == [
        ("edge", "healthy", ["edge-build", "edge-integration"])
    ]
    shown = json.loads(cli("team", "show", "edge", "-o", "json").stdout)
    assert shown["master"]["image"] == "ciorch/master-emulator:latest"
    assert sorted(shown["agents"]) == ["build-go", "test-go"]
    status = json.loads(cli("masters", "status", "-o", "json").stdout)
    assert [(m["team"], m["healthy"]) for m in status] == [("edge", 1)]

    dry = cli("team", "offboard", "edge", "--dry-run")
    assert dry.exit_code == 0
    assert f"remove service {owner}-edge-master (1 instance(s))" in dry.stdout
    assert docker_client.containers.list(filters={"label": f"{LABEL_OWNER}={owner}"}) != []

    gone = cli("team", "offboard", "edge", "--purge")
    assert gone.exit_code == 0, gone.output
    assert (
        docker_client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={owner}"}) == []
    )
    assert cli("team", "list").stdout.strip() == "no teams onboarded"
    missing = cli("team", "offboard", "edge")
    assert missing.exit_code == 1
    assert missing.stderr == "Error: no such team (team edge)\n"
