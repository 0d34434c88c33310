"""The emulator's own agent protocol under ``/ciorch-agent/`` (JSON over HTTP POST).

Real inbound agents speak Jenkins remoting over WebSocket or TCP, which an emulator cannot
(API.md A, "Inbound agent"). Test agents (:mod:`ciorch.testing.agent`) use this instead; it
models what the controller can observe of a remoting channel:

``connect`` ``{"name", "secret"}``
    -> ``{"session", "heartbeatTimeout"}``. 403 wrong secret; 400 ``no such agent``; 400
    ``N is already connected to this controller. Rejecting this connection.``
    (``WebSocketAgents.doIndex``, ``DefaultJnlpSlaveReceiver``).
``poll`` ``{"name", "session", "wait"}``
    Long poll and heartbeat: -> ``{"builds": [...], "abort": [...]}``. Each build is
    ``{"job", "number", "steps": [shell commands], "env": {...}, "simulatedSeconds"}``. A node
    that does not poll for ``heartbeatTimeout`` seconds counts as disconnected (ChannelPinger).
    409 once the session is gone (the agent must connect again).
``console`` ``{"name", "session", "job", "number", "text"}`` -> ``{"abort": bool}``
``finish`` ``{"name", "session", "job", "number", "exitCode"}``: 0 SUCCESS, else FAILURE.
``disconnect`` ``{"name", "session"}``: the channel closes (swarm nodes go away unless kept).

No basic auth and no crumb: like ``/wsagents/`` the secret is the credential.
"""

from __future__ import annotations

import json
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from .model import Build, Node
from .state import ApiError, JenkinsState

__all__ = ["build_payload", "handle"]


def _answer(obj: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(obj), status, content_type="application/json")


def build_payload(state: JenkinsState, node: Node, build: Build, root: str) -> dict[str, Any]:
    """What an agent needs to run one build: shell steps and the build's environment."""
    job = state.jobs[build.job]
    env = {
        "BUILD_NUMBER": str(build.number),
        "BUILD_ID": str(build.number),
        "BUILD_TAG": f"jenkins-{build.job.replace('/', '-')}-{build.number}",
        "BUILD_URL": f"{root}{job.url_path}{build.number}/",
        "JOB_NAME": build.job,
        "JOB_BASE_NAME": job.name,
        "JOB_URL": root + job.url_path,
        "JENKINS_URL": root,
        "NODE_NAME": node.name,
        "NODE_LABELS": " ".join(sorted(node.labels)),
        "EXECUTOR_NUMBER": str(build.executor_number),
    }
    for param in build.params:
        env[param.definition.name] = param.as_env
    return {
        "job": build.job,
        "number": build.number,
        "steps": list(job.config.shell_steps),
        "env": env,
        "simulatedSeconds": job.config.simulated_seconds,
    }


def _builds_on(state: JenkinsState, node: Node) -> list[Build]:
    out = []
    for executor in node.executors:
        if executor.build is not None:
            out.append(state.jobs[executor.build[0]].builds[executor.build[1]])
    return out


def _own_build(state: JenkinsState, node: Node, body: dict[str, Any]) -> Build:
    build = state.build(str(body.get("job", "")), int(body.get("number", 0)))
    if build.node_name != node.name:
        raise ApiError(409, "build is not running on this agent")
    return build


def handle(state: JenkinsState, request: Request, action: str, root: str) -> Response:
    if request.method != "POST":
        return _answer({"error": "POST only"}, 405)
    try:
        body: dict[str, Any] = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        return _answer({"error": "bad JSON"}, 400)
    name = str(body.get("name", ""))
    session = str(body.get("session", ""))
    try:
        if action == "connect":
            sid = state.connect(name, str(body.get("secret", "")), "http")
            return _answer({"session": sid, "heartbeatTimeout": state.agent_timeout})
        if action == "poll":
            return _answer(_poll(state, name, session, float(body.get("wait", 1.0)), root))
        with state.mutate():
            node = state.session_node(name, session)
            if action == "console":
                build = _own_build(state, node, body)
                build.console.append(str(body.get("text", "")))
                return _answer({"abort": build.abort_requested})
            if action == "finish":
                build = _own_build(state, node, body)
                state.complete(build, int(body.get("exitCode", 1)))
                return _answer({})
            if action == "disconnect":
                state.disconnect(name, lost=False)
                return _answer({})
    except ApiError as err:
        return _answer({"error": err.message}, err.status)
    return _answer({"error": "unknown action"}, 404)


def _poll(state: JenkinsState, name: str, session: str, wait: float, root: str) -> dict[str, Any]:
    deadline = time.monotonic() + max(0.0, min(wait, state.agent_timeout / 2))
    with state.changed:
        first = True
        while True:
            # Only the start and the end of a poll are heartbeats: a poll left hanging by a
            # dead agent must not keep its node alive.
            node = state.session_node(name, session, alive=first)
            first = False
            builds = state.claim_builds(node)
            aborts = []
            for build in _builds_on(state, node):
                if build.abort_requested and not build.abort_sent:
                    build.abort_sent = True
                    aborts.append({"job": build.job, "number": build.number})
            remaining = deadline - time.monotonic()
            if builds or aborts or remaining <= 0:
                node.last_seen = state.clock()
                state.changed.notify_all()
                return {
                    "builds": [build_payload(state, node, b, root) for b in builds],
                    "abort": aborts,
                }
            state.changed.wait(remaining)
