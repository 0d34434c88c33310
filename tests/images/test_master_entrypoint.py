"""The master image's entrypoint, run in agent-base (the master image needs the Jenkins
distribution to build): a jar that prints its command line stands in for jenkins.war."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from _images_kit import REPO, Run, run_to_end

pytestmark = pytest.mark.docker

ENTRYPOINT = REPO / "images/jenkins-master/ciorch-master-entrypoint"


@pytest.fixture
def master_files(tmp_path: Path, echo_jar: bytes) -> dict[str, dict[str, str]]:
    """Bind mounts that make agent-base look like the master image: the entrypoint, a
    jenkins.war, and /usr/share/jenkins/ref with two plugins and the default casc.yaml."""
    ref = tmp_path / "ref"
    (ref / "plugins").mkdir(parents=True)
    (ref / "plugins/git.jpi").write_bytes(b"jpi")
    (ref / "plugins/swarm.hpi").write_bytes(b"hpi")
    (ref / "casc.yaml").write_text((REPO / "images/jenkins-master/casc.yaml").read_text())
    war = tmp_path / "jenkins.war"
    war.write_bytes(echo_jar)
    for path in (tmp_path, ref, ref / "plugins"):
        path.chmod(0o755)
    for path in (war, ref / "casc.yaml", ref / "plugins/git.jpi", ref / "plugins/swarm.hpi"):
        path.chmod(0o644)
    return {
        str(ENTRYPOINT): {"bind": "/usr/local/bin/ciorch-master-entrypoint", "mode": "ro"},
        str(war): {"bind": "/usr/share/jenkins/jenkins.war", "mode": "ro"},
        str(ref): {"bind": "/usr/share/jenkins/ref", "mode": "ro"},
    }


def _master(
    docker_client: Any,
    containers: list[Any],
    volumes: dict[str, dict[str, str]],
    env: dict[str, str],
    command: list[str] | None = None,
) -> Run:
    return run_to_end(
        docker_client,
        containers,
        "ciorch/agent-base:latest",
        command,
        environment={"JENKINS_HOME": "/home/jenkins", **env},
        entrypoint=["/usr/local/bin/ciorch-master-entrypoint"],
        volumes=volumes,
    )


def test_master_needs_the_admin_password(
    docker_client: Any, containers: list[Any], master_files: dict[str, dict[str, str]]
) -> None:
    run = _master(docker_client, containers, master_files, {})
    assert run.status == 2
    assert "ciorch-master-entrypoint: error: ADMIN_PASSWORD is not set" in run.stderr


def test_master_starts_jenkins_with_plugins_and_default_casc(
    docker_client: Any, containers: list[Any], master_files: dict[str, dict[str, str]]
) -> None:
    env = {
        "ADMIN_PASSWORD": "pw",
        "JENKINS_HTTP_PORT": "18123",
        "JENKINS_HTTP_ADDRESS": "127.0.0.1",
    }
    run = _master(docker_client, containers, master_files, env, ["--sessionTimeout=60"])
    assert run.status == 0, run.stderr
    assert "starting with the image's default" in run.stderr
    assert "WIZARD false" in run.stdout
    assert "CASC /home/jenkins/casc.yaml" in run.stdout
    assert "PLUGINS git.jpi swarm.hpi" in run.stdout
    args = re.findall(r"^ARG\[(.*)\]$", run.stdout, flags=re.MULTILINE)
    assert args == ["--httpPort=18123", "--httpListenAddress=127.0.0.1", "--sessionTimeout=60"]


def test_master_runs_another_command(
    docker_client: Any, containers: list[Any], master_files: dict[str, dict[str, str]]
) -> None:
    run = _master(docker_client, containers, master_files, {}, ["sh", "-c", "echo shell"])
    assert run.status == 0, run.stderr
    assert run.stdout == "shell\n"
