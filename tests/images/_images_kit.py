"""Helpers for the image tests: run a container to its end, wait on a condition with a
deadline, a free loopback port, a tiny HTTP server that plays the master's jar downloads."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _wait import wait_for

__all__ = ["REPO", "JarServer", "Run", "free_port", "jar_server", "run_to_end", "wait_for"]

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str


def run_to_end(
    docker_client: Any,
    containers: list[Any],
    image: str,
    command: list[str] | None = None,
    *,
    environment: Mapping[str, str] | None = None,
    timeout: float = 120,
    **options: Any,
) -> Run:
    """Run ``image`` with host networking until it exits (at most ``timeout`` s)."""
    container = docker_client.containers.create(
        image, command, environment=dict(environment or {}), network_mode="host", **options
    )
    containers.append(container)
    container.start()
    status = container.wait(timeout=timeout)["StatusCode"]
    out = container.logs(stdout=True, stderr=False).decode()
    err = container.logs(stdout=False, stderr=True).decode()
    return Run(int(status), out, err)


@dataclass
class JarServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1; records the paths asked for."""

    url: str
    requested: list[str] = field(default_factory=list)


@contextmanager
def jar_server(files: Mapping[str, bytes]) -> Iterator[JarServer]:
    server_state = JarServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.requested.append(self.path)
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/java-archive")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
