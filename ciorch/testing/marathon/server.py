"""The HTTP side: a werkzeug WSGI app answering Marathon's REST v2, a threaded server,
fault knobs, and :class:`MarathonEmulator` which ties them to the state and the
reconcile loop."""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .apps import ApiError, normalise_id
from .executors import DockerExecutor, HealthFunction, MemoryExecutor, TaskExecutor
from .reconcile import Reconciler
from .selectors import SelectorError, parse_selector
from .state import MarathonState
from .tasks import RUNNING, STAGING

__all__ = ["MarathonEmulator"]

Json = dict[str, Any]

_EMBED = {
    "tasks": "tasks",
    "counts": "counts",
    "deployments": "deployments",
    "readiness": "readiness",
    "lastTaskFailure": "lastTaskFailure",
    "failures": "lastTaskFailure",
}


# /v2/apps/{app id}/tasks[/{task id}]: the last "/tasks" segment that leaves a valid
# split (an app may be called ".../tasksapp"; task ids contain no "/").
_TASKS_PATH = re.compile(r"(.*)/tasks(?:/([^/]+))?/?")
_DELAY_PATH = re.compile(r"/v2/queue/(.+)/delay/?")


class _QuietHandler(WSGIRequestHandler):
    # One request per connection: when the emulator goes down no kept-alive connection
    # can still reach it.
    protocol_version = "HTTP/1.0"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _flag(request: Request, name: str) -> bool:
    """Query booleans: the marathon client sends True/False; any case is accepted."""
    return request.args.get(name, "false").strip().lower() == "true"


def _embed(request: Request) -> set[str]:
    out: set[str] = set()
    for value in request.args.getlist("embed"):
        for item in value.split(","):
            name = item.strip().split(".", 1)[-1]
            if name in _EMBED:
                out.add(_EMBED[name])
    return out


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def _body(request: Request) -> Any:
    raw = request.get_data(as_text=True)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(400, {"message": "Invalid JSON", "details": str(exc)}) from exc


class MarathonEmulator:
    """A Marathon REST v2 server on 127.0.0.1 (see the package docstring).

    ``executor``: ``"memory"`` (default), ``"docker"`` or a :class:`TaskExecutor`.
    ``deployment_seconds``: how long a task stays staged, and the shortest deployment.
    ``health_interval``: overrides every health check's intervalSeconds (None: use it).
    ``health_deadline``: after this many seconds a deployment waiting for health stops
    replacing unhealthy tasks and stays listed. ``credentials``: (user, password) to
    require basic auth. ``max_running_deployments``: Marathon's flag of that name (100);
    beyond it a change without force is 403. Fault knobs: :attr:`latency`, :attr:`error_rate`,
    :attr:`error_status`, :meth:`down`, :meth:`up`, :meth:`restart`.
    """

    def __init__(
        self,
        executor: str | TaskExecutor = "memory",
        deployment_seconds: float = 0.2,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        health: HealthFunction | None = None,
        health_interval: float | None = None,
        health_deadline: float = 60.0,
        docker_image: str = "local/debian:bookworm",
        credentials: tuple[str, str] | None = None,
        host_ports: tuple[int, int] = (31000, 32000),
        seed: int = 0,
        max_running_deployments: int = 100,
    ) -> None:
        if executor == "memory":
            self.executor: TaskExecutor = MemoryExecutor(health)
        elif executor == "docker":
            self.executor = DockerExecutor(default_image=docker_image)
        elif isinstance(executor, str):
            raise ValueError(f"unknown executor {executor!r}: memory, docker or an object")
        else:
            self.executor = executor
        self.instance_id = uuid.uuid4().hex[:12]
        self.executor.bind(self.instance_id)
        self.state = MarathonState(
            deployment_seconds,
            host_ports=host_ports,
            max_running_deployments=max_running_deployments,
        )
        tick = 0.1 if isinstance(self.executor, DockerExecutor) else 0.02
        self.reconciler = Reconciler(
            self.state,
            self.executor,
            tick=tick,
            health_interval=health_interval,
            health_deadline=health_deadline,
        )
        self.host = host
        self.port = port
        self.credentials = credentials
        self.latency = 0.0
        self.error_rate = 0.0
        self.error_status = 503
        self.rng = random.Random(seed)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._started = False
        self._stopped = False
        self._lifecycle = threading.RLock()  # up/down/restart/stop, from any thread

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MarathonEmulator:
        with self._lifecycle:
            self._stopped = False
            if not self._started:
                self.reconciler.start()
                self._started = True
            self.up()
        return self

    def up(self) -> None:
        """Listen again (after :meth:`down`) on the same port; never once stopped."""
        with self._lifecycle:
            if self._server is None and not self._stopped:
                self._up()

    def _up(self) -> None:
        server = make_server(
            self.host, self.port, self.wsgi, threaded=True, request_handler=_QuietHandler
        )
        server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="marathon-http",
            daemon=True,
        )
        self._thread.start()

    def down(self) -> None:
        """Stop listening: connections are refused until :meth:`up`. State is kept."""
        with self._lifecycle:
            self._down()

    def _down(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def restart(self, keep_state: bool = True) -> None:
        """Go down and come back. ``keep_state=False``: come back with no apps and no
        deployments (a Marathon with a wiped store); the old tasks are killed."""
        with self._lifecycle:
            if self._stopped:
                return
            self._down()
            if not keep_state:
                self.state.reset()
            self._up()

    def stop(self) -> None:
        """Stop serving, stop the reconcile loop, kill every task (for the Docker
        executor: remove every container this emulator started)."""
        with self._lifecycle:
            self._stopped = True
            self._down()
            if self._started:
                self.reconciler.stop()
                self._started = False
            self.executor.close()

    def __enter__(self) -> MarathonEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -------------------------------------------------------------------- WSGI

    def wsgi(self, environ: Json, start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._respond(request)
        except ApiError as exc:
            response = _json(exc.status, exc.body, exc.headers)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _respond(self, request: Request) -> Response:
        admin = request.path.startswith("/ciorch-admin/")
        if not admin and self.latency > 0:
            time.sleep(self.latency)
        if not admin and self.error_rate > 0 and self.rng.random() < self.error_rate:
            return _json(self.error_status, {"message": "injected fault"})
        if self.credentials is not None:  # the admin endpoint too: it can take Marathon down
            auth = request.authorization
            if auth is None or (auth.username, auth.password) != self.credentials:
                return _json(
                    401,
                    {"message": "Invalid username or password."},
                    {"WWW-Authenticate": 'Basic realm="Mesosphere Marathon"'},
                )
        if admin:
            return self._admin(request)
        return self._route(request)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/ping":
            return Response("pong\n", content_type="text/plain")
        if path == "/v2/leader":
            return _json(200, {"leader": f"{self.host}:{self.port}"})
        if path in ("/v2/apps", "/v2/apps/"):
            if method == "GET":
                return self._list_apps(request)
            if method == "POST":
                return self._create_app(request)
            return _json(405, {"message": "HTTP 405 Method Not Allowed"})
        if path.startswith("/v2/apps/"):
            return self._app_route(request, path[len("/v2/apps/") :])
        if path == "/v2/info" and method == "GET":
            return _json(200, self._info())
        if path == "/v2/queue" and method == "GET":
            return _json(200, self.state.queue())
        delay = _DELAY_PATH.fullmatch(path)
        if delay is not None and method == "DELETE":
            self.state.reset_delay(normalise_id(delay.group(1)))
            return Response(b"", status=204)
        if path == "/v2/tasks" and method == "GET":
            states = {"running": {RUNNING}, "staging": {STAGING}}.get(
                request.args.get("status", "")
            )
            return _json(200, self.state.list_tasks(None, states))
        if path == "/v2/tasks/delete" and method == "POST":
            body = _body(request)
            ids = body.get("ids") if isinstance(body, dict) else None
            if not isinstance(ids, list):
                raise ApiError(
                    422,
                    {
                        "message": "Invalid JSON",
                        "details": [{"path": "/ids", "errors": ["error.path.missing"]}],
                    },
                )
            answer = self.state.kill_given(
                [str(i) for i in ids], _flag(request, "scale"), _flag(request, "force")
            )
            return _json(200, answer)
        if path == "/v2/deployments" and method == "GET":
            return _json(200, self.state.list_deployments())
        if path.startswith("/v2/deployments/") and method == "DELETE":
            status, body = self.state.delete_deployment(
                path[len("/v2/deployments/") :], _flag(request, "force")
            )
            if body is None:
                return Response(b"", status=status)
            return _json(status, body)
        return _json(404, {"message": f"Unknown path {path}"})

    def _info(self) -> Json:
        return {
            "name": "marathon",
            "version": "1.7.216",  # the schema's era; the answer shape is the same since 1.5
            "buildref": "ciorch-emulator",
            "elected": True,
            "leader": f"{self.host}:{self.port}",
            "frameworkId": self.state.agent_id.removesuffix("-S0") + "-0000",
            "http_config": {"http_port": self.port},
            "zookeeper_config": {"zk": "zk://127.0.0.1:2181/marathon", "zk_timeout": 10000},
            "marathon_config": {
                "hostname": self.host,
                "local_port_min": self.state.service_port_range[0],
                "local_port_max": self.state.service_port_range[1],
            },
        }

    def _list_apps(self, request: Request) -> Response:
        label = request.args.get("label")
        try:
            selector = parse_selector(label) if label else None
        except SelectorError as exc:
            # Not confirmed: Marathon refuses an unparsable selector; 400 chosen.
            raise ApiError(400, {"message": f"Invalid label selector: {exc}"}) from exc
        answer = self.state.list_apps(
            request.args.get("id"), request.args.get("cmd"), selector, _embed(request)
        )
        return _json(200, answer)

    def _create_app(self, request: Request) -> Response:
        answer, deployment = self.state.create_app(_body(request), _flag(request, "force"))
        headers = {
            "Location": f"{self.url}/v2/apps{answer['id']}",
            "Marathon-Deployment-Id": deployment.id,
        }
        return _json(201, answer, headers)

    def _app_route(self, request: Request, rest: str) -> Response:
        method = request.method
        force, scale = _flag(request, "force"), _flag(request, "scale")
        tasks_path = _TASKS_PATH.fullmatch(rest)
        if tasks_path is not None:
            app_id, task_id = normalise_id(tasks_path.group(1)), tasks_path.group(2) or ""
            if not task_id and method == "GET":
                return _json(200, self.state.list_tasks(app_id))
            if not task_id and method == "DELETE":
                host = request.args.get("host")
                return _json(200, self.state.kill_app_tasks(app_id, scale, force, host))
            if task_id and method == "DELETE":
                return _json(200, self.state.kill_task(app_id, task_id, scale, force))
            return _json(405, {"message": "HTTP 405 Method Not Allowed"})
        if rest.rstrip("/").endswith("/restart") and method == "POST":
            deployment = self.state.restart_app(normalise_id(rest.rstrip("/")[:-8]), force)
            return _json(200, deployment.result(), {"Marathon-Deployment-Id": deployment.id})
        app_id = normalise_id(rest)
        if method == "GET":
            return _json(200, self.state.get_app(app_id, _embed(request)))
        if method == "PUT":
            partial = request.args.get("partialUpdate", "true").lower() != "false"
            status, result = self.state.put_app(app_id, _body(request), force, partial)
            headers = {"Marathon-Deployment-Id": str(result["deploymentId"])}
            if status == 201:
                headers["Location"] = f"{self.url}/v2/apps{app_id}"
            return _json(status, result, headers)
        if method == "DELETE":
            deployment = self.state.delete_app(app_id, force)
            return _json(200, deployment.result(), {"Marathon-Deployment-Id": deployment.id})
        return _json(405, {"message": "HTTP 405 Method Not Allowed"})

    # ------------------------------------------------------------------- admin

    def _admin(self, request: Request) -> Response:
        """``POST /ciorch-admin/faults`` {"latency", "error_rate", "error_status",
        "seed", "down_seconds"}; ``POST /ciorch-admin/restart`` {"keep_state"};
        ``GET /ciorch-admin/faults`` reads them back."""
        path = request.path
        if path == "/ciorch-admin/faults" and request.method == "GET":
            return _json(200, self._faults())
        body = _body(request) if request.get_data() else {}
        if not isinstance(body, dict):
            raise ApiError(400, {"message": "expected a JSON object"})
        if path == "/ciorch-admin/faults" and request.method == "POST":
            if "latency" in body:
                self.latency = float(body["latency"])
            if "error_rate" in body:
                self.error_rate = float(body["error_rate"])
            if "error_status" in body:
                self.error_status = int(body["error_status"])
            if "seed" in body:
                self.rng.seed(int(body["seed"]))
            if float(body.get("down_seconds", 0)) > 0:
                self._later(lambda: self._down_for(float(body["down_seconds"])))
            return _json(200, self._faults())
        if path == "/ciorch-admin/restart" and request.method == "POST":
            keep = str(body.get("keep_state", True)).lower() not in {"false", "0", "no"}
            self._later(lambda: self.restart(keep_state=keep))
            return _json(202, {"restarting": True, "keep_state": keep})
        return _json(404, {"message": f"Unknown admin path {path}"})

    def _faults(self) -> Json:
        return {
            "latency": self.latency,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
        }

    def _down_for(self, seconds: float) -> None:
        self.down()
        time.sleep(seconds)
        self.up()

    @staticmethod
    def _later(action: Any) -> None:
        """Run after the current answer is sent (a server cannot stop inside a request)."""

        def run() -> None:
            time.sleep(0.05)
            action()

        threading.Thread(target=run, name="marathon-admin", daemon=True).start()
