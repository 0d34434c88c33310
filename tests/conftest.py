"""Shared fixtures. Tests that need a Docker engine use the ``docker_client`` fixture (or
the ``containers`` recorder). Outside CI they skip when no engine answers; with CI=true
a missing engine is a failure, because CI must prove them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import docker
import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_LABEL = "ciorch.test"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no Docker engine answers: {exc}")
        pytest.skip(f"no Docker engine: {exc}")
    yield client
    client.close()


@pytest.fixture
def containers(docker_client: Any) -> Iterator[list[Any]]:
    """A list the test appends every container it starts to; all are removed after."""
    started: list[Any] = []
    yield started
    for container in started:
        with contextlib.suppress(Exception):  # already gone
            container.remove(force=True, v=True)


@pytest.fixture(scope="session")
def base_image(docker_client: Any) -> str:
    name = os.environ.get("CIORCH_BASE_IMAGE", "local/debian:bookworm")
    try:
        docker_client.images.get(name)
    except Exception as exc:
        msg = f"base image {name} is missing: run `make base-image` ({exc})"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return name
