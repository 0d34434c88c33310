"""The marathon 0.13.0 compatibility shim: what breaks without it, and that it fixes it."""

from __future__ import annotations

import collections
import collections.abc
import json
import socket
import subprocess
import sys
import warnings

import marathon
import marathon.util
import pytest
from marathon import MarathonApp
from marathon.exceptions import MarathonError

from ciorch.adapters import marathon_compat

NESTED_APP = MarathonApp(
    cmd="sleep 1",
    container={"type": "DOCKER", "docker": {"image": "local/debian:bookworm"}},
    health_checks=[{"protocol": "TCP", "portIndex": 0}],
    upgrade_strategy={"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
)


def test_unpatched_client_fails_on_nested_objects() -> None:
    """The defect the shim exists for, shown in a fresh interpreter (the shim may
    already be applied in this one)."""
    code = (
        "from marathon import MarathonApp\n"
        "MarathonApp(cmd='x', container={'docker': {'image': 'i'}}).to_json()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "has no attribute 'Iterable'" in result.stderr


def test_apply_makes_nested_objects_serialise() -> None:
    marathon_compat.apply()
    body = json.loads(NESTED_APP.to_json())
    assert body["container"]["docker"]["image"] == "local/debian:bookworm"
    assert body["healthChecks"] == [{"portIndex": 0, "protocol": "TCP"}]
    full = json.loads(NESTED_APP.to_json(minimal=False))
    assert full["upgradeStrategy"] == {"maximumOverCapacity": 1, "minimumHealthCapacity": 1}


def test_apply_is_idempotent_and_leaves_stdlib_alone() -> None:
    marathon_compat.apply()
    marathon_compat.apply()
    assert marathon_compat.is_applied()
    assert marathon.util.collections is collections.abc
    assert not hasattr(collections, "Iterable")


def test_log_warn_alias_emits_no_deprecation_warning() -> None:
    marathon_compat.apply()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        marathon.log.warn("shim check")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_event_stream_to_unreachable_server_raises_marathon_error() -> None:
    """0.13.0 logs ``e.message`` there and dies with AttributeError instead."""
    client = marathon_compat.client(f"http://127.0.0.1:{_free_port()}", timeout=2)
    with pytest.raises(MarathonError, match="No remaining Marathon servers"):
        next(client.event_stream())


def test_client_helper_returns_configured_client() -> None:
    client = marathon_compat.client("http://127.0.0.1:1", username="u", password="p", timeout=3.5)
    assert isinstance(client, marathon.MarathonClient)
    assert client.servers == ["http://127.0.0.1:1"]
    assert client.auth == ("u", "p")
    assert client.timeout == 3.5
    assert marathon_compat.is_applied()
