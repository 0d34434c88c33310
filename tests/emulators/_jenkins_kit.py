"""Shared pieces of the Jenkins emulator tests: fixtures, config.xml builders, raw helpers.

Test modules import the fixtures they use from here (no conftest, so that this directory's
other emulator suites are not affected)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

import jenkins
import pytest
import requests
from _wait import wait_for

from ciorch.testing.jenkins import JenkinsEmulator

ADMIN = ("admin", "s3cret-token")
SECRET_RE = re.compile(r"<argument>([0-9a-f]{64})</argument>")


def freestyle(
    *,
    label: str | None = None,
    roam: bool | None = True,
    disabled: bool = False,
    concurrent: bool = False,
    steps: tuple[str, ...] = (),
    params: dict[str, str] | None = None,
    seconds: float | None = None,
    result: str | None = None,
    description: str = "",
) -> str:
    """A freestyle ``config.xml``. ``roam=None`` leaves ``<canRoam>`` out."""
    parts = [f"<description>{escape(description)}</description>", "<keepDependencies>false"]
    parts[-1] += "</keepDependencies>"
    if params:
        defs = "".join(
            "<hudson.model.StringParameterDefinition>"
            f"<name>{escape(k)}</name><defaultValue>{escape(v)}</defaultValue>"
            "</hudson.model.StringParameterDefinition>"
            for k, v in params.items()
        )
        parts.append(
            "<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
            f"{defs}</parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
            "</properties>"
        )
    if label is not None:
        parts.append(f"<assignedNode>{escape(label)}</assignedNode>")
    if roam is not None:
        parts.append(f"<canRoam>{str(roam and label is None).lower()}</canRoam>")
    parts.append(f"<disabled>{str(disabled).lower()}</disabled>")
    parts.append(f"<concurrentBuild>{str(concurrent).lower()}</concurrentBuild>")
    shells = "".join(
        f"<hudson.tasks.Shell><command>{escape(s)}</command></hudson.tasks.Shell>" for s in steps
    )
    parts.append(f"<builders>{shells}</builders><publishers/><buildWrappers/>")
    if seconds is not None:
        parts.append(f"<ciorch.simulatedSeconds>{seconds}</ciorch.simulatedSeconds>")
    if result is not None:
        parts.append(f"<ciorch.simulatedResult>{result}</ciorch.simulatedResult>")
    return "<?xml version='1.1' encoding='UTF-8'?>\n<project>" + "".join(parts) + "</project>"


FOLDER = (
    "<?xml version='1.1' encoding='UTF-8'?>\n"
    "<com.cloudbees.hudson.plugins.folder.Folder><description/>"
    "</com.cloudbees.hudson.plugins.folder.Folder>"
)


@pytest.fixture
def emu() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(admin=ADMIN, agent_timeout=1.5) as emulator:
        yield emulator


@pytest.fixture
def client(emu: JenkinsEmulator) -> Any:
    return jenkins.Jenkins(emu.url, *ADMIN, timeout=10)


def raw(emu: JenkinsEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    """A token-authenticated request that does not follow redirects."""
    kwargs.setdefault("auth", ADMIN)
    kwargs.setdefault("allow_redirects", False)
    return requests.request(method, emu.url + path.lstrip("/"), timeout=10, **kwargs)


def open_raw(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    """Send through python-jenkins' own ``jenkins_open`` (auth, crumb, error mapping)."""
    return client.jenkins_open(requests.Request(method, client.server + path, **kwargs))


def jnlp_secret(emu: JenkinsEmulator, node: str) -> str:
    text = raw(emu, "GET", f"computer/{node}/jenkins-agent.jnlp").text
    match = SECRET_RE.search(text)
    assert match, text
    return match.group(1)


def agent_call(emu: JenkinsEmulator, action: str, **body: Any) -> requests.Response:
    """One call of the emulator's agent protocol (no basic auth: the secret is the credential)."""
    return requests.post(emu.url + "ciorch-agent/" + action, json=body, timeout=10)


def executable(client: Any, queue_id: int, timeout: float = 5.0) -> dict[str, Any]:
    """Wait until the queue item has left with a build; return ``executable``."""

    def probe() -> Any:
        return client.get_queue_item(queue_id).get("executable")

    result: dict[str, Any] = wait_for(probe, timeout)
    return result


def finished(client: Any, job: str, number: int, timeout: float = 5.0) -> dict[str, Any]:
    """Wait until ``building`` is false (API.md C6: the only reliable "done")."""

    def probe() -> Any:
        info = client.get_build_info(job, number)
        return None if info["building"] else info

    result: dict[str, Any] = wait_for(probe, timeout)
    return result


def start_agent(emu: JenkinsEmulator, *args: str) -> subprocess.Popen[str]:
    """The test agent as a real process."""
    return subprocess.Popen(
        [sys.executable, "-m", "ciorch.testing.agent", "--url", emu.url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_process(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode
