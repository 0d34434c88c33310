"""Fixtures for the image tests: the agent images, built by `make agent-images` when one
is missing (on a fresh machine the first build takes a few minutes)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from _images_kit import REPO

ENVS = ("java-maven", "php", "go", "python")
AGENT_IMAGES = ("ciorch/agent-base:latest", *(f"ciorch/agent-{env}:latest" for env in ENVS))


def _missing(docker_client: Any) -> list[str]:
    missing = []
    for name in AGENT_IMAGES:
        try:
            docker_client.images.get(name)
        except Exception:  # docker.errors.ImageNotFound, kept out of the import list
            missing.append(name)
    return missing


@pytest.fixture(scope="module")
def agent_images(docker_client: Any, base_image: str) -> tuple[str, ...]:
    """The agent images' names; builds them with `make agent-images` if any is missing."""
    if _missing(docker_client):
        done = subprocess.run(
            ["make", "agent-images", f"BASE_IMAGE={base_image}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, f"make agent-images failed:\n{done.stdout}\n{done.stderr}"
        assert not _missing(docker_client), done.stdout
    return AGENT_IMAGES


ECHO_MAIN = """
import java.io.File;
import java.util.Arrays;

public class Main {
    public static void main(String[] args) {
        System.out.println("CWD " + System.getProperty("user.dir"));
        System.out.println("WIZARD " + System.getProperty("jenkins.install.runSetupWizard"));
        System.out.println("CASC " + System.getenv("CASC_JENKINS_CONFIG"));
        String home = System.getenv("JENKINS_HOME");
        if (home != null) {
            String[] plugins = new File(home, "plugins").list();
            if (plugins != null) {
                Arrays.sort(plugins);
                System.out.println("PLUGINS " + String.join(" ", plugins));
            }
        }
        for (String arg : args) System.out.println("ARG[" + arg + "]");
    }
}
"""


@pytest.fixture(scope="module")
def echo_jar(
    docker_client: Any, agent_images: Any, tmp_path_factory: pytest.TempPathFactory
) -> bytes:
    """A jar whose main prints its arguments (and a little environment), compiled with
    the java-maven image's JDK: stands in for agent.jar, swarm-client.jar and
    jenkins.war so the exact command lines are seen."""
    work = tmp_path_factory.mktemp("echo-jar")
    work.chmod(0o777)
    (work / "Main.java").write_text(ECHO_MAIN)
    container = docker_client.containers.create(
        "ciorch/agent-java-maven:latest",
        ["sh", "-c", "cd /work && javac Main.java && jar cfe echo.jar Main Main.class"],
        network_mode="host",
        volumes={str(work): {"bind": "/work", "mode": "rw"}},
    )
    try:
        container.start()
        status = container.wait(timeout=120)["StatusCode"]
        assert status == 0, container.logs().decode()
    finally:
        container.remove(force=True, v=True)
    return (work / "echo.jar").read_bytes()
