"""Pushing agent images to a private registry: Debian's docker-registry (distribution v2)
on 127.0.0.1, `make push` and the images adapter, and a pull back by digest."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _images_kit import REPO, free_port, wait_for

from ciorch.adapters.images import list_images, push, registry_digest
from ciorch.errors import NotFoundError, TemporaryError

pytestmark = pytest.mark.docker

REGISTRY_BIN = "/usr/bin/docker-registry"

CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private registry on 127.0.0.1:<free port>, stopped at the end."""
    if not Path(REGISTRY_BIN).exists():
        pytest.fail(f"{REGISTRY_BIN} is missing: install Debian's docker-registry (make system)")
    work = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = work / "config.yml"
    config.write_text(CONFIG.format(root=work / "data", port=port))
    log = (work / "registry.log").open("w")
    process = subprocess.Popen(
        [REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        address = f"127.0.0.1:{port}"
        wait_for(lambda: process.poll() is not None or _answers(f"http://{address}/v2/"), 20)
        assert process.poll() is None, (work / "registry.log").read_text()
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture
def registry_tags(docker_client: Any, registry: str) -> Iterator[None]:
    """Removes every local reference into the test registry afterwards, tags and
    digests (references only: the images stay under their ciorch/ names)."""
    yield
    for image in docker_client.images.list():
        for reference in (*image.tags, *image.attrs.get("RepoDigests", ())):
            if reference.startswith(f"{registry}/"):
                with contextlib.suppress(Exception):
                    docker_client.images.remove(reference, noprune=True)
    leftover = [
        ref
        for image in docker_client.images.list()
        for ref in (*image.tags, *image.attrs.get("RepoDigests", ()))
        if ref.startswith(f"{registry}/")
    ]
    assert not leftover


def test_make_push_then_pull_back_by_digest(
    docker_client: Any, agent_images: Any, registry: str, registry_tags: None
) -> None:
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    done = subprocess.run(
        ["make", "push", f"REGISTRY={registry}", "AGENT_ENVS=python"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{registry}/ciorch/agent-python:" in done.stdout
    assert "pushed in" in done.stdout

    local = docker_client.images.get("ciorch/agent-python:latest")
    version = local.labels["org.opencontainers.image.version"]
    digest = registry_digest(registry, "ciorch/agent-python", version)
    assert digest is not None
    assert digest.startswith("sha256:")
    assert registry_digest(registry, "ciorch/agent-python", "latest") == digest
    assert registry_digest(registry, "ciorch/agent-python", "no-such-tag") is None

    listed = list_images(docker_client, registry=registry)
    info = next(i for i in listed if "ciorch/agent-python:latest" in i.tags)
    assert info.repo_digests == (f"{registry}/ciorch/agent-python@{digest}",)
    assert info.pushed
    assert f"{registry}/ciorch/agent-python:latest" in info.tags

    for tag in (version, "latest"):
        docker_client.images.remove(f"{registry}/ciorch/agent-python:{tag}", noprune=True)
    pulled = docker_client.images.pull(f"{registry}/ciorch/agent-python@{digest}")
    assert pulled.id == local.id


def test_adapter_push_returns_the_registry_digest(
    docker_client: Any, agent_images: Any, registry: str, registry_tags: None
) -> None:
    digest = push(
        "ciorch/agent-base:latest", registry, tags=["adapter-a", "adapter-b"], client=docker_client
    )
    assert digest == registry_digest(registry, "ciorch/agent-base", "adapter-a")
    assert digest == registry_digest(registry, "ciorch/agent-base", "adapter-b")
    docker_client.images.remove(f"{registry}/ciorch/agent-base:adapter-a", noprune=True)
    docker_client.images.remove(f"{registry}/ciorch/agent-base:adapter-b", noprune=True)
    pulled = docker_client.images.pull(f"{registry}/ciorch/agent-base@{digest}")
    assert pulled.id == docker_client.images.get("ciorch/agent-base:latest").id


def test_adapter_errors_are_ciorch_errors(docker_client: Any, agent_images: Any) -> None:
    with pytest.raises(NotFoundError, match="does not exist on this engine"):
        push("ciorch/no-such-image:latest", "127.0.0.1:9", client=docker_client)
    dead = f"127.0.0.1:{free_port()}"
    with pytest.raises(TemporaryError, match="the registry does not answer") as caught:
        registry_digest(dead, "ciorch/agent-base", "latest", timeout=2)
    assert caught.value.__cause__ is not None
    try:
        with pytest.raises(TemporaryError, match="push failed") as pushed:
            push("ciorch/agent-base:latest", dead, tags=["unreachable"], client=docker_client)
        assert pushed.value.where == f"{dead}/ciorch/agent-base:unreachable"
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(f"{dead}/ciorch/agent-base:unreachable", noprune=True)
