"""The agent images built by `make agent-images`: toolchains, non-root user, labels, and
the entrypoint's three modes (inbound agent, Swarm client, plain command)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _images_kit import free_port, jar_server, run_to_end

from ciorch.adapters.images import LABEL_GUID, list_images

pytestmark = pytest.mark.docker

OCI = (
    "org.opencontainers.image.revision",
    "org.opencontainers.image.created",
    "org.opencontainers.image.source",
    "org.opencontainers.image.version",
    "org.opencontainers.image.title",
)

TOOLCHAINS = [
    ("ciorch/agent-base:latest", "java -version", r'openjdk version "17\.'),
    ("ciorch/agent-java-maven:latest", "mvn -v", r"Apache Maven 3\."),
    ("ciorch/agent-java-maven:latest", "java -version", r'openjdk version "17\.'),
    ("ciorch/agent-php:latest", "php -v", r"PHP 8\.\d+\.\d+ \(cli\)"),
    ("ciorch/agent-php:latest", "composer --version", r"Composer (version )?2\."),
    ("ciorch/agent-go:latest", "go version", r"go version go1\.\d+"),
    ("ciorch/agent-python:latest", "python3 -V", r"Python 3\.\d+"),
    ("ciorch/agent-python:latest", "python3 -m venv --help", r"usage: venv"),
]


@pytest.mark.usefixtures("agent_images")
@pytest.mark.parametrize(("image", "check", "expected"), TOOLCHAINS)
def test_toolchain_runs_as_non_root(
    docker_client: Any,
    containers: list[Any],
    image: str,
    check: str,
    expected: str,
) -> None:
    run = run_to_end(docker_client, containers, image, ["sh", "-c", f"id -u; {check}"])
    assert run.status == 0, run.stderr
    uid, _, rest = run.stdout.partition("\n")
    assert uid == "1000"
    assert re.search(expected, rest + run.stderr), rest + run.stderr


@pytest.mark.parametrize(
    "image",
    [
        "ciorch/agent-base:latest",
        *(f"ciorch/agent-{e}:latest" for e in ("java-maven", "php", "go", "python")),
    ],
)
def test_image_carries_oci_labels_and_guid(
    docker_client: Any, agent_images: Any, image: str
) -> None:
    config = docker_client.images.get(image).attrs["Config"]
    labels = config["Labels"]
    for key in OCI:
        assert labels.get(key), f"{image} lacks {key}"
    assert labels["org.opencontainers.image.title"] == image.rsplit(":", 1)[0]
    assert re.fullmatch(
        r"\d+\.\d+\.\d+\S*-g[0-9a-f]{7,}(-dirty)?", labels["org.opencontainers.image.version"]
    )
    assert re.fullmatch(r"[0-9a-f]{40}", labels["org.opencontainers.image.revision"])
    created = labels["org.opencontainers.image.created"]
    assert created.endswith("Z")
    assert datetime.fromisoformat(created).utcoffset() is not None
    assert uuid.UUID(labels[LABEL_GUID]).version == 4
    assert config["User"] == "jenkins"
    assert config["Entrypoint"] == ["/usr/bin/tini", "--", "/usr/local/bin/ciorch-agent-entrypoint"]


def test_each_image_has_its_own_guid_and_is_listed(docker_client: Any, agent_images: Any) -> None:
    listed = list_images(docker_client)  # older builds of the same name may be listed too
    guids = set()
    for image in agent_images:
        info = next(i for i in listed if image in i.tags)
        assert info.id == docker_client.images.get(image).id
        assert info.size > 0
        assert info.version
        assert info.revision
        assert info.source
        guids.add(info.guid)
    assert len(guids) == len(agent_images)


MISSING = [
    ({}, "nothing to run: set JENKINS_URL"),
    ({"JENKINS_URL": "http://127.0.0.1:9/"}, "JENKINS_AGENT_NAME is not set"),
    (
        {"JENKINS_URL": "http://127.0.0.1:9/", "JENKINS_AGENT_NAME": "n1"},
        "JENKINS_SECRET is not set",
    ),
    ({"JENKINS_AGENT_NAME": "n1", "JENKINS_SECRET": "s"}, "JENKINS_URL is not set"),
    ({"SWARM": "1", "SWARM_LABELS": "a"}, "JENKINS_URL is not set"),
    ({"SWARM": "1", "JENKINS_URL": "http://127.0.0.1:9/"}, "SWARM_LABELS is not set"),
    (
        {"SWARM": "1", "JENKINS_URL": "http://127.0.0.1:9/", "SWARM_LABELS": "a"},
        "SWARM_USER is not set",
    ),
    (
        {
            "SWARM": "1",
            "JENKINS_URL": "http://127.0.0.1:9/",
            "SWARM_LABELS": "a",
            "SWARM_USER": "u",
        },
        "SWARM_PASSWORD_FILE or SWARM_PASSWORD is not set",
    ),
    (
        {
            "SWARM": "1",
            "JENKINS_URL": "http://127.0.0.1:9/",
            "SWARM_LABELS": "a",
            "SWARM_USER": "u",
            "SWARM_PASSWORD": "p",
            "SWARM_EXECUTORS": "two",
        },
        "SWARM_EXECUTORS must be a positive integer, not 'two'",
    ),
]


@pytest.mark.parametrize(("env", "message"), MISSING)
def test_entrypoint_names_the_missing_variable(
    docker_client: Any, containers: list[Any], agent_images: Any, env: dict[str, str], message: str
) -> None:
    run = run_to_end(docker_client, containers, "ciorch/agent-base:latest", environment=env)
    assert run.status == 2
    assert run.stderr.startswith("ciorch-agent-entrypoint: error: ")
    assert message in run.stderr
    assert run.stdout == ""


def test_entrypoint_reports_an_unreachable_master(
    docker_client: Any, containers: list[Any], agent_images: Any
) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    env = {"JENKINS_URL": url, "JENKINS_AGENT_NAME": "n1", "JENKINS_SECRET": "s"}
    run = run_to_end(docker_client, containers, "ciorch/agent-base:latest", environment=env)
    assert run.status == 2
    assert f"cannot download {url}jnlpJars/agent.jar" in run.stderr


# ---------------------------------------------------------------- agent modes, end to end


def _args(stdout: str) -> list[str]:
    return re.findall(r"^ARG\[(.*)\]$", stdout, flags=re.MULTILINE)


def _options(args: list[str]) -> dict[str, str]:
    """``-x value`` pairs and ``-flag`` (value ``""``) from a command line."""
    options: dict[str, str] = {}
    for i, arg in enumerate(args):
        if arg.startswith("-"):
            following = args[i + 1] if i + 1 < len(args) else "-"
            options[arg] = "" if following.startswith("-") else following
    return options


def test_inbound_mode_downloads_agent_jar_and_connects_over_websocket(
    docker_client: Any, containers: list[Any], echo_jar: bytes
) -> None:
    with jar_server({"/jnlpJars/agent.jar": echo_jar}) as master:
        env = {
            "JENKINS_URL": master.url,
            "JENKINS_AGENT_NAME": "build-go-1a2b",
            "JENKINS_SECRET": "f" * 64,
        }
        run = run_to_end(docker_client, containers, "ciorch/agent-base:latest", environment=env)
    assert run.status == 0, run.stderr
    assert master.requested == ["/jnlpJars/agent.jar"]
    assert _args(run.stdout) == [
        "-url", master.url, "-secret", "@/home/jenkins/agent/.agent-secret", "-name", "build-go-1a2b",
        "-webSocket", "-workDir", "/home/jenkins/agent",
    ]  # fmt: skip


def test_inbound_mode_passes_extra_arguments_to_the_agent(
    docker_client: Any, containers: list[Any], echo_jar: bytes
) -> None:
    with jar_server({"/jnlpJars/agent.jar": echo_jar}) as master:
        env = {
            "JENKINS_URL": master.url,
            "JENKINS_AGENT_NAME": "n",
            "JENKINS_SECRET": "s",
            "JENKINS_AGENT_WORKDIR": "/tmp/w",
        }
        run = run_to_end(
            docker_client,
            containers,
            "ciorch/agent-go:latest",
            ["-noReconnectAfter", "1m"],
            environment=env,
        )
    assert run.status == 0, run.stderr
    assert _args(run.stdout)[-4:] == ["-workDir", "/tmp/w", "-noReconnectAfter", "1m"]


def test_swarm_mode_registers_with_unique_fsroot_and_hidden_password(
    docker_client: Any, containers: list[Any], echo_jar: bytes
) -> None:
    env = {
        "SWARM": "1",
        "SWARM_LABELS": "test-maven linux",
        "SWARM_EXECUTORS": "2",
        "SWARM_USER": "ciorch",
        "SWARM_PASSWORD": "s3cret-token",
        "SWARM_NAME": "payments-test-maven",
    }
    with jar_server({"/swarm/swarm-client.jar": echo_jar}) as master:
        env["JENKINS_URL"] = master.url
        runs = [
            run_to_end(docker_client, containers, "ciorch/agent-java-maven:latest", environment=env)
            for _ in range(2)
        ]
    assert master.requested == ["/swarm/swarm-client.jar"] * 2
    fsroots = []
    for run in runs:
        assert run.status == 0, run.stderr
        args = _args(run.stdout)
        option = _options(args)
        assert args[:3] == ["-url", master.url, "-webSocket"]
        assert option["-labels"] == "test-maven linux"
        assert option["-executors"] == "2"
        assert option["-name"] == "payments-test-maven"
        assert option["-mode"] == "exclusive"
        assert option["-username"] == "ciorch"
        assert option["-passwordEnvVariable"] == "SWARM_PASSWORD"
        assert "-disableClientsUniqueId" not in args
        assert "s3cret-token" not in run.stdout
        assert re.fullmatch(r"/home/jenkins/agent/swarm-[0-9a-f]{8}", option["-fsroot"])
        fsroots.append(option["-fsroot"])
    # The client's unique id hashes the fsroot and the (shared, host-network) interfaces.
    assert fsroots[0] != fsroots[1]


def test_swarm_mode_reads_the_password_from_a_file(
    docker_client: Any, containers: list[Any], echo_jar: bytes, tmp_path: Path
) -> None:
    secret = tmp_path / "token"
    secret.write_text("t0ken\n")
    secret.chmod(0o644)
    with jar_server({"/swarm/swarm-client.jar": echo_jar}) as master:
        env = {
            "SWARM": "true", "JENKINS_URL": master.url, "SWARM_LABELS": "pool",
            "SWARM_USER": "ciorch", "SWARM_PASSWORD_FILE": "/run/secrets/token",
            "SWARM_FSROOT": "/home/jenkins/agent/fixed",
        }  # fmt: skip
        run = run_to_end(
            docker_client, containers, "ciorch/agent-python:latest", environment=env,
            volumes={str(secret): {"bind": "/run/secrets/token", "mode": "ro"}},
        )  # fmt: skip
    assert run.status == 0, run.stderr
    args = _args(run.stdout)
    option = _options(args)
    assert option["-passwordFile"] == "/run/secrets/token"
    assert option["-fsroot"] == "/home/jenkins/agent/fixed"
    assert option["-executors"] == "1"
    assert option["-name"] == "agent"
