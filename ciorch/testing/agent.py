#!/usr/bin/env python3
"""The ciorch test agent: connects a node to the Jenkins emulator and runs its builds.

Stands in for ``agent.jar`` (and the Swarm client) in tests. It speaks the emulator's small
JSON protocol under ``/ciorch-agent/`` (documented in ``ciorch.testing.jenkins.agent_api``),
runs each assigned build's ``hudson.tasks.Shell`` steps with ``/bin/sh -xe`` in a work
directory, streams the console and reports the exit code (0 SUCCESS, else FAILURE).

Standard library only: it also runs as a single copied file (``python3 agent.py ...``), which is
how the ``ciorch/agent-test`` image uses it.

Inbound (like ``java -jar agent.jar -url URL -secret S -name N``)::

    python -m ciorch.testing.agent --url URL --name N --secret S [--work-dir DIR]

Swarm (like ``swarm-client.jar``; registers through ``/plugin/swarm/createSlave``)::

    python -m ciorch.testing.agent --url URL --swarm --username U --password TOKEN \\
        --labels "a b" --executors 2 [--name N] [--mode NORMAL] [--keep-disconnected-clients]
        [--retry N] [--retry-interval S] [--no-retry-after-connected]

Every option also reads an environment variable: JENKINS_URL, AGENT_NAME, AGENT_SECRET,
AGENT_WORKDIR, SWARM=1, LABELS, EXECUTORS, MODE, JENKINS_USER, JENKINS_TOKEN, RETRY,
RETRY_INTERVAL.
SIGTERM or SIGINT: running steps are killed, the agent disconnects and exits 0.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from types import FrameType
from typing import Any

__all__ = ["Agent", "AgentError", "main", "swarm_register"]


class AgentError(Exception):
    """The controller answered an error status (``status``) or could not be reached (0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


def _post_json(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError):
            text = json.loads(text).get("error", text)
        raise AgentError(exc.code, text) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise AgentError(0, str(exc)) from exc


def swarm_register(
    url: str,
    username: str,
    password: str,
    *,
    name: str,
    executors: int,
    labels: str,
    mode: str = "NORMAL",
    description: str = "",
    fs_root: str = "",
    unique_id: bool = True,
    delete_existing: bool = False,
    keep_disconnected: bool = False,
) -> tuple[str, str]:
    """Register as the Swarm client does (``SwarmClient.createSwarmAgent``): (name, secret)."""
    headers: dict[str, str] = {}
    if password:  # without credentials the controller must allow anonymous registration
        auth = base64.b64encode(f"{username}:{password}".encode()).decode()
        headers["Authorization"] = "Basic " + auth
    crumb_url = (
        url
        + "crumbIssuer/api/xml?xpath="
        + urllib.parse.quote('concat(//crumbRequestField,":",//crumb)')
    )
    try:
        with urllib.request.urlopen(
            urllib.request.Request(crumb_url, headers=headers), timeout=30
        ) as response:
            field, _, value = response.read().decode().strip().partition(":")
            if field and value:
                headers[field] = value
    except urllib.error.HTTPError as exc:
        if exc.code != 404:  # 404: crumbs disabled
            raise AgentError(exc.code, "crumb request failed") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise AgentError(0, str(exc)) from exc
    unique = hashlib.md5(
        f"{os.path.realpath(fs_root or '.')}|{socket.gethostname()}".encode()
    ).hexdigest()[:8]
    form = {
        "name": name,
        "executors": str(executors),
        "remoteFsRoot": fs_root,
        "description": description,
        "labels": labels,
        "mode": mode.upper(),
        "hash": unique if unique_id else "",
        "deleteExistingClients": str(delete_existing).lower(),
        "keepDisconnectedClients": str(keep_disconnected).lower(),
    }
    request = urllib.request.Request(
        url + "plugin/swarm/createSlave",
        data=urllib.parse.urlencode(form).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        raise AgentError(exc.code, exc.read().decode("utf-8", "replace")) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise AgentError(0, str(exc)) from exc
    props = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    return props["name"], props["secret"]


class _Run:
    """One build being executed."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.abort = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def key(self) -> tuple[str, int]:
        return str(self.payload["job"]), int(self.payload["number"])

    def kill(self) -> None:
        self.abort.set()
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)


class Agent:
    """A connected node: polls for builds, runs them in threads, reports back."""

    def __init__(
        self,
        url: str,
        name: str,
        secret: str,
        work_dir: str | None = None,
        *,
        reconnect: bool = True,
        log: Any = None,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.name = name
        self.secret = secret
        self.work_dir = work_dir or os.path.join(tempfile.gettempdir(), f"ciorch-agent-{name}")
        self.reconnect = reconnect
        self.session: str | None = None
        self.heartbeat = 5.0
        self.stop_event = threading.Event()
        self.runs: dict[tuple[str, int], _Run] = {}
        self.lock = threading.Lock()
        self.log = log or sys.stderr

    def _say(self, text: str) -> None:
        print(f"[agent {self.name}] {text}", file=self.log, flush=True)

    def _call(self, action: str, body: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        body = {"name": self.name, "session": self.session, **body}
        return _post_json(self.url + "ciorch-agent/" + action, body, timeout)

    def connect(self) -> None:
        answer = _post_json(
            self.url + "ciorch-agent/connect",
            {"name": self.name, "secret": self.secret},
            30.0,
        )
        self.session = str(answer["session"])
        self.heartbeat = float(answer.get("heartbeatTimeout", 5.0))
        self._say("connected")

    def run(self) -> int:
        """Connect, then poll until stopped; 0 on a clean stop, 1 when the node is gone."""
        backoff = 0.2
        while not self.stop_event.is_set():
            try:
                if self.session is None:
                    self.connect()
                    backoff = 0.2
                answer = self._call(
                    "poll", {"wait": max(0.2, self.heartbeat / 3)}, self.heartbeat + 10
                )
            except AgentError as err:
                self.session = None
                if err.status in {400, 403} and not self.reconnect:
                    self._say(f"rejected: {err}")
                    return 1
                if err.status == 409 and not self.reconnect:
                    self._say("connection lost, not reconnecting (-noReconnect)")
                    return 1
                self._say(f"retrying after error {err}")
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for payload in answer.get("builds", []):
                run = _Run(payload)
                with self.lock:
                    self.runs[run.key] = run
                threading.Thread(target=self._execute, args=(run,), daemon=True).start()
            for ref in answer.get("abort", []):
                with self.lock:
                    found = self.runs.get((str(ref["job"]), int(ref["number"])))
                if found is not None:
                    found.kill()
        self.shutdown()
        return 0

    def stop(self) -> None:
        self.stop_event.set()

    def shutdown(self) -> None:
        with self.lock:
            runs = list(self.runs.values())
        for run in runs:
            run.kill()
        if self.session is not None:
            with contextlib.suppress(AgentError):
                self._call("disconnect", {}, 5.0)
            self.session = None
            self._say("disconnected")

    # ----------------------------------------------------------------- build execution
    def _console(self, run: _Run, text: str) -> None:
        if not text:
            return
        job, number = run.key
        try:
            answer = self._call("console", {"job": job, "number": number, "text": text})
        except AgentError:
            return
        if answer.get("abort"):
            run.kill()

    def _execute(self, run: _Run) -> None:
        job, number = run.key
        exit_code = 0
        try:
            exit_code = self._steps(run)
        except Exception as exc:  # report instead of leaving the build running
            self._console(run, f"FATAL: {exc}\n")
            exit_code = 1
        finally:
            try:
                self._call("finish", {"job": job, "number": number, "exitCode": exit_code})
            except AgentError as err:
                self._say(f"could not report {job} #{number}: {err}")
            with self.lock:
                self.runs.pop(run.key, None)

    def _steps(self, run: _Run) -> int:
        payload = run.payload
        job = str(payload["job"])
        workspace = os.path.join(self.work_dir, "workspace", job)
        os.makedirs(workspace, exist_ok=True)
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in dict(payload.get("env", {})).items()})
        env["WORKSPACE"] = workspace
        seconds = payload.get("simulatedSeconds")
        if seconds and run.abort.wait(float(seconds)):
            return 130
        for command in payload.get("steps", []):
            if run.abort.is_set():
                return 130
            fd, script = tempfile.mkstemp(prefix="jenkins", suffix=".sh")
            with os.fdopen(fd, "w") as handle:
                handle.write(str(command))
            try:
                self._console(run, f"[{job}] $ /bin/sh -xe {script}\n")
                code = self._shell(run, script, workspace, env)
            finally:
                os.unlink(script)
            if code != 0:
                return code
        return 0

    def _shell(self, run: _Run, script: str, cwd: str, env: dict[str, str]) -> int:
        process = subprocess.Popen(
            ["/bin/sh", "-xe", script],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        run.process = process
        if run.abort.is_set():
            run.kill()
        assert process.stdout is not None
        stdout = process.stdout
        buffer: list[str] = []
        buffer_lock = threading.Lock()

        def pump() -> None:
            for raw in iter(stdout.readline, b""):
                with buffer_lock:
                    buffer.append(raw.decode("utf-8", "replace"))

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        while True:
            reader.join(timeout=0.2)  # stream the console every 0.2 s
            with buffer_lock:
                chunk = "".join(buffer)
                buffer.clear()
            self._console(run, chunk)
            if not reader.is_alive():
                break
        return process.wait()


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="ciorch-test-agent", description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=env("JENKINS_URL"), help="controller root URL")
    parser.add_argument("--name", default=env("AGENT_NAME"))
    parser.add_argument("--secret", default=env("AGENT_SECRET"))
    parser.add_argument("--work-dir", default=env("AGENT_WORKDIR"))
    parser.add_argument("--swarm", action="store_true", default=_env_flag("SWARM"))
    parser.add_argument("--labels", default=env("LABELS", ""))
    parser.add_argument("--executors", type=int, default=int(env("EXECUTORS", "1")))
    parser.add_argument("--mode", default=env("MODE", "NORMAL"))
    parser.add_argument("--description", default=env("DESCRIPTION", ""))
    parser.add_argument("--username", default=env("JENKINS_USER", "admin"))
    parser.add_argument("--password", default=env("JENKINS_TOKEN"))
    parser.add_argument("--disable-clients-unique-id", action="store_true")
    parser.add_argument("--delete-existing-clients", action="store_true")
    parser.add_argument(
        "--keep-disconnected-clients", action="store_true", default=_env_flag("KEEP_DISCONNECTED")
    )
    parser.add_argument("--no-reconnect", action="store_true", default=_env_flag("NO_RECONNECT"))
    parser.add_argument(
        "--retry", type=int, default=int(env("RETRY", "-1")), help="swarm: attempts, -1 = no limit"
    )
    parser.add_argument(
        "--retry-interval", type=float, default=float(env("RETRY_INTERVAL", "10")), help="seconds"
    )
    parser.add_argument("--no-retry-after-connected", action="store_true")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url (or JENKINS_URL) is required")
    url = args.url if args.url.endswith("/") else args.url + "/"
    if args.swarm:
        return _run_swarm(args, url, args.name or socket.gethostname())
    if not args.name or not args.secret:
        parser.error("--name and --secret (or AGENT_NAME, AGENT_SECRET) are required")
    agent = Agent(url, args.name, args.secret, args.work_dir, reconnect=not args.no_reconnect)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        agent.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return agent.run()


def _run_swarm(args: argparse.Namespace, url: str, name: str) -> int:
    """The Swarm client's loop (``Client.run``): register, run until the connection drops, then
    register again after ``--retry-interval`` (every failure, 409 included, is retried) unless
    ``--no-retry-after-connected``. The node is removed on disconnect by the controller."""
    stopping = threading.Event()
    current: list[Agent] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        for running in current:
            running.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    attempts = 0
    while not stopping.is_set():
        attempts += 1
        try:
            node, secret = swarm_register(
                url,
                args.username,
                args.password or "",
                name=name,
                executors=args.executors,
                labels=args.labels,
                mode=args.mode,
                description=args.description,
                fs_root=args.work_dir or "",
                unique_id=not args.disable_clients_unique_id,
                delete_existing=args.delete_existing_clients,
                keep_disconnected=args.keep_disconnected_clients,
            )
        except AgentError as err:
            print(f"swarm registration failed: {err}", file=sys.stderr, flush=True)
            if 0 <= args.retry <= attempts:
                return 1
            stopping.wait(args.retry_interval)
            continue
        attempts = 0
        agent = Agent(url, node, secret, args.work_dir, reconnect=False)
        current[:] = [agent]
        if stopping.is_set():
            break
        code = agent.run()
        if stopping.is_set():
            return 0
        if args.no_retry_after_connected:
            return code
        stopping.wait(args.retry_interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
