""":class:`JenkinsEmulator`: the state, the WSGI app and a threaded HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .casc_api import apply_casc
from .security import Security
from .server import Faults, JenkinsApp
from .state import ApiError, JenkinsState

__all__ = ["JenkinsEmulator"]


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        return None


class _Server(ThreadedWSGIServer):
    """Records open client connections so that "down" can really cut them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a connection cut by "down" is not an error worth printing

    def cut_connections(self) -> None:
        with self.sockets_lock:
            doomed = list(self.open_sockets)
            self.open_sockets.clear()
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class JenkinsEmulator:
    """An emulated Jenkins controller served over HTTP (see the package docstring)."""

    def __init__(
        self,
        admin: tuple[str, str] = ("admin", "token"),
        quiet_period: float = 0.0,
        root_url: str | None = None,
        *,
        port: int = 0,
        admin_password: str | None = None,
        built_in_executors: int = 0,
        left_retention: float = 300.0,
        agent_timeout: float = 5.0,
        load_clock: float = 10.0,
        home: Path | None = None,
    ) -> None:
        self.admin = admin
        self.port = port
        self._root_url = root_url
        self._settings = {
            "quiet_period": quiet_period,
            "built_in_executors": built_in_executors,
            "left_retention": left_retention,
            "agent_timeout": agent_timeout,
            "load_clock": load_clock,
        }
        self.key = secrets.token_bytes(32)
        self.home = home
        self.state = self._new_state()
        self.security = Security(
            admin[0], admin[1], admin_password or admin[1] + "-password", secrets.token_bytes(16)
        )
        self.faults = Faults()
        self.app = JenkinsApp(self.state, self.security, self.faults, lambda: self.url, self._admin)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._stopped = False
        self._timers: list[threading.Timer] = []

    def _new_state(self) -> JenkinsState:
        state = JenkinsState(
            quiet_period=float(self._settings["quiet_period"]),
            built_in_executors=int(self._settings["built_in_executors"]),
            left_retention=float(self._settings["left_retention"]),
            agent_timeout=float(self._settings["agent_timeout"]),
            load_clock=float(self._settings["load_clock"]),
            key=self.key,
        )
        if self.home is not None:
            self._load_home(state, self.home)
        return state

    # ------------------------------------------------------------------ JENKINS_HOME
    @staticmethod
    def _job_dir(home: Path, full_name: str) -> Path:
        """``$JENKINS_HOME/jobs/a/jobs/b`` for job ``a/b``, as Jenkins lays folders out."""
        path = home
        for part in full_name.split("/"):
            path = path / "jobs" / part
        return path

    def _load_home(self, state: JenkinsState, home: Path) -> None:
        """Jobs (``jobs/*/config.xml``, folders first) and the last applied CasC document
        come back from JENKINS_HOME, as on a real controller's restart."""
        configs = sorted(home.glob("**/config.xml"), key=lambda p: len(p.parts))
        for config in configs:
            rel = config.parent.relative_to(home).parts
            if len(rel) < 2 or rel[0] != "jobs" or any(p != "jobs" for p in rel[0::2]):
                continue
            names = rel[1::2]
            state.create_job("/".join(names[:-1]), names[-1], config.read_text("utf-8"))
        casc = home / "ciorch-casc.yaml"
        if casc.is_file():
            apply_casc(state, casc.read_text("utf-8"))

        def save(full_name: str, xml: str | None) -> None:
            folder = self._job_dir(home, full_name)
            if xml is None:
                shutil.rmtree(folder, ignore_errors=True)
                return
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / "config.xml.tmp"
            tmp.write_text(xml, encoding="utf-8")
            tmp.replace(folder / "config.xml")

        def save_casc(document: str) -> None:
            casc.write_text(document, "utf-8")

        state.job_listener = save
        state.casc_listener = save_casc

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """The root URL with a trailing slash (``Jenkins.getRootUrl``)."""
        if self._root_url:
            return self._root_url.rstrip("/") + "/"
        return f"http://127.0.0.1:{self.port}/"

    @property
    def password(self) -> str:
        """The admin's password: basic auth with it (or a form login) needs crumbs."""
        return self.security.password

    def start(self) -> JenkinsEmulator:
        with self._lock:
            self._stopped = False
            self.state.start()
            self._serve()
        return self

    def _serve(self) -> None:
        server = _Server("127.0.0.1", self.port, self.app, handler=_QuietHandler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.cut_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
            self._close()
            self.state.stop()

    def _later(self, delay: float, action: Callable[..., None], **kwargs: Any) -> None:
        """Run ``action`` after ``delay`` unless the emulator is stopped first."""
        timer = threading.Timer(delay, action, kwargs=kwargs)
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def __enter__(self) -> JenkinsEmulator:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ faults
    @property
    def down(self) -> bool:
        """True while the listening socket is closed (connections are refused)."""
        return self.faults.down

    @down.setter
    def down(self, value: bool) -> None:
        self.set_down(value)

    @property
    def latency(self) -> float:
        """Seconds added to every answer (agent protocol and admin endpoint excepted)."""
        return self.faults.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self.set_faults(latency=value)

    @property
    def error_rate(self) -> float:
        """Share of answers replaced by ``faults.error_status`` (seeded RNG, ``faults.seed``)."""
        return self.faults.error_rate

    @error_rate.setter
    def error_rate(self, value: float) -> None:
        self.set_faults(error_rate=value)

    def set_down(self, down: bool) -> None:
        """Close the listening socket and every open connection (refused), or listen again
        (never once the emulator is stopped)."""
        with self._lock:
            self.faults.down = down
            if down:
                self._close()
            elif self._server is None and not self._stopped:
                self._serve()

    def set_faults(
        self,
        *,
        latency: float | None = None,
        error_rate: float | None = None,
        error_status: int | None = None,
        seed: int | None = None,
    ) -> None:
        """Latency (seconds added per request) and random 500/503 answers from a seeded RNG."""
        if latency is not None:
            self.faults.latency = latency
        if error_status is not None:
            if error_status not in {500, 502, 503, 504}:
                raise ValueError("error_status must be a 5xx status")
            self.faults.error_status = error_status
        if error_rate is not None:
            self.faults.error_rate = error_rate
        if seed is not None or error_rate is not None:
            self.faults.seed = seed if seed is not None else self.faults.seed
            self.faults.reseed()

    def restart(self, keep_state: bool = True) -> None:
        """Stop and start again on the same port, like a controller restart.

        ``keep_state``: jobs, builds, permanent nodes and the queue survive (Jenkins saves them,
        ``queue.xml`` included); agent connections, sessions/crumbs and left items do not, and
        swarm nodes (``EphemeralNode``) are gone. Running builds end ABORTED (executors are
        interrupted on shutdown). Without it the controller comes back empty.
        """
        with self._lock:
            if self._stopped:
                return
            self._close()
            self.state.stop()
            self.security.sessions.clear()
            if keep_state:
                state = self.state
                with state.mutate():
                    for node in list(state.agent_nodes()):
                        state.abort_running(node, "Jenkins is shutting down\n")
                        state.disconnect(node.name, lost=True)
                        if node.swarm:
                            state.nodes.pop(node.name, None)
                    for item in list(state.items.values()):
                        if item.state == "left":
                            del state.items[item.id]
                        else:
                            item.pending = False
                            item.assigned = None
            else:
                self.state = self._new_state()
                self.app.state = self.state
            self.state.start()
            if not self.faults.down:
                self._serve()

    def _admin(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """``/ciorch-admin/<action>`` for emulators started with ``python -m``."""
        if action == "faults":
            self.set_faults(
                latency=_opt_float(body.get("latency")),
                error_rate=_opt_float(body.get("error_rate")),
                error_status=int(body["error_status"]) if "error_status" in body else None,
                seed=int(body["seed"]) if body.get("seed") is not None else None,
            )
            if body.get("down"):
                down_for = _opt_float(body.get("down_for"))
                self._later(0.05, self.set_down, down=True)
                if down_for:
                    self._later(0.05 + down_for, self.set_down, down=False)
            return self.faults.as_dict()
        if action == "restart":
            keep = str(body.get("keep_state", "true")).lower() not in {"false", "0", "no"}
            self._later(0.05, self.restart, keep_state=keep)
            return {"restarting": True, "keep_state": keep}
        raise ApiError(404, f"unknown admin action {action}")


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
