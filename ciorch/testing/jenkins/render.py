"""JSON shapes of the remote API (``/api/json``), object by object, at a given depth.

Each ``render_*`` mirrors the ``@Exported`` properties of the Jenkins class it names; nested
objects shrink as the depth runs out (stapler ``TreePruner.ByDepth``): at depth 0 a computer's
executors carry only ``_class``, a job's builds only ``{_class, number, url}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .labels import LabelSyntaxError, parse_label
from .model import Build, Job, Node, QueueItem
from .queue_logic import estimated_duration, label_name

if TYPE_CHECKING:
    from .state import JenkinsState

__all__ = [
    "render_build",
    "render_computer",
    "render_computer_set",
    "render_item",
    "render_job",
    "render_job_ref",
    "render_label",
    "render_queue",
    "render_root",
    "render_user",
]

_BUILD_CLASS = "hudson.model.FreeStyleBuild"
_COLORS = {
    "SUCCESS": "blue",
    "UNSTABLE": "yellow",
    "FAILURE": "red",
    "ABORTED": "aborted",
    "NOT_BUILT": "notbuilt",
}


def _color(job: Job) -> str:
    """``Job.getIconColor``: last completed result, ``_anime`` while building."""
    if job.config.is_folder:
        return ""
    if job.config.disabled:
        return "disabled"
    builds = sorted(job.builds.values(), key=lambda b: b.number)
    done = [b for b in builds if not b.building]
    base = _COLORS.get(done[-1].result or "", "notbuilt") if done else "notbuilt"
    return base + "_anime" if any(b.building for b in builds) else base


def render_job_ref(job: Job, root: str) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "_class": job.config.job_class,
        "name": job.name,
        "url": root + job.url_path,
    }
    if not job.config.is_folder:
        ref["color"] = _color(job)
    return ref


def _build_ref(build: Build, root: str) -> dict[str, Any]:
    return {"_class": _BUILD_CLASS, "number": build.number, "url": _build_url(build, root)}


def _build_url(build: Build, root: str) -> str:
    path = "".join(f"job/{p}/" for p in build.job.split("/"))
    return f"{root}{path}{build.number}/"


def _param_action(params: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "_class": "hudson.model.ParametersAction",
        "parameters": [
            {
                "_class": p.definition.value_class,
                "name": p.definition.name,
                **({} if p.definition.is_password else {"value": p.value}),
            }
            for p in params
        ],
    }


def _cause_action(user: str) -> dict[str, Any]:
    return {
        "_class": "hudson.model.CauseAction",
        "causes": [
            {
                "_class": "hudson.model.Cause$UserIdCause",
                "shortDescription": f"Started by user {user}",
                "userId": user,
                "userName": user,
            }
        ],
    }


def render_build(state: JenkinsState, build: Build, root: str, depth: int) -> dict[str, Any]:
    """``hudson.model.FreeStyleBuild`` (API.md C6)."""
    actions: list[dict[str, Any]] = []
    if build.params:
        actions.append(_param_action(build.params))
    actions.append(_cause_action(build.started_by))
    executor: dict[str, Any] | None = None
    if build.building:
        executor = {"_class": "hudson.model.Executor"}
        if depth >= 1:
            executor.update(
                {
                    "currentExecutable": _build_ref(build, root),
                    "idle": False,
                    "likelyStuck": False,
                    "number": build.executor_number,
                    "progress": -1,
                }
            )
    return {
        "_class": _BUILD_CLASS,
        "actions": actions,
        "artifacts": [],
        "building": build.building,
        "description": None,
        "displayName": f"#{build.number}",
        "duration": build.duration_ms,
        "estimatedDuration": build.estimated_ms,
        "executor": executor,
        "fullDisplayName": f"{build.job.replace('/', ' » ')} #{build.number}",
        "id": str(build.number),
        "inProgress": build.in_progress,
        "keepLog": False,
        "number": build.number,
        "queueId": build.queue_id,
        "result": build.result,
        "timestamp": build.timestamp_ms,
        "url": _build_url(build, root),
        "builtOn": build.built_on,
        "changeSet": {"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None},
        "culprits": [],
    }


def _last(job: Job, pred: Any) -> Build | None:
    for build in sorted(job.builds.values(), key=lambda b: -b.number):
        if pred(build):
            return build
    return None


def render_job(state: JenkinsState, job: Job, root: str, depth: int) -> dict[str, Any]:
    """``hudson.model.FreeStyleProject`` (or a ``Folder``, which carries ``jobs``)."""
    base: dict[str, Any] = {
        "_class": job.config.job_class,
        "actions": [],
        "description": job.config.description,
        "displayName": job.name,
        "displayNameOrNull": None,
        "fullDisplayName": job.full_name.replace("/", " » "),
        "fullName": job.full_name,
        "name": job.name,
        "url": root + job.url_path,
    }
    if job.config.is_folder:
        children = state.children(job.full_name)
        base["jobs"] = [
            render_job(state, c, root, depth - 1) if depth >= 1 else render_job_ref(c, root)
            for c in children
        ]
        return base

    def ref(build: Build | None) -> dict[str, Any] | None:
        if build is None:
            return None
        return (
            render_build(state, build, root, depth - 1) if depth >= 1 else _build_ref(build, root)
        )

    builds = sorted(job.builds.values(), key=lambda b: -b.number)
    queued = [i for i in state.live_items() if i.job == job.full_name]
    params = job.config.parameters
    properties: list[dict[str, Any]] = []
    if params:
        properties.append(
            {
                "_class": "hudson.model.ParametersDefinitionProperty",
                "parameterDefinitions": [
                    {
                        "_class": p.kind,
                        "defaultParameterValue": {
                            "_class": p.value_class,
                            "name": p.name,
                            **({} if p.is_password else {"value": p.default}),
                        },
                        "description": p.description,
                        "name": p.name,
                        "type": p.kind.rsplit(".", 1)[-1],
                    }
                    for p in params
                ],
            }
        )
    done = [b for b in builds if not b.building]
    base.update(
        {
            "buildable": not job.config.disabled,
            "builds": [ref(b) for b in builds[:100]],
            "allBuilds": [ref(b) for b in builds],
            "color": _color(job),
            "firstBuild": ref(builds[-1] if builds else None),
            "healthReport": [],
            "inQueue": bool(queued),
            "keepDependencies": False,
            "lastBuild": ref(builds[0] if builds else None),
            "lastCompletedBuild": ref(done[0] if done else None),
            "lastFailedBuild": ref(_last(job, lambda b: b.result == "FAILURE")),
            "lastStableBuild": ref(_last(job, lambda b: b.result == "SUCCESS")),
            "lastSuccessfulBuild": ref(_last(job, lambda b: b.result in {"SUCCESS", "UNSTABLE"})),
            "lastUnstableBuild": ref(_last(job, lambda b: b.result == "UNSTABLE")),
            "lastUnsuccessfulBuild": ref(
                _last(job, lambda b: not b.building and b.result != "SUCCESS")
            ),
            "nextBuildNumber": job.next_number,
            "property": properties,
            "queueItem": render_item(state, queued[0], root, depth - 1) if queued else None,
            "concurrentBuild": job.config.concurrent,
            "disabled": job.config.disabled,
            "downstreamProjects": [],
            "labelExpression": job.config.label_string,
            "scm": {"_class": "hudson.scm.NullSCM"},
            "upstreamProjects": [],
            "estimatedDuration": estimated_duration(job),
        }
    )
    if depth < 0:
        return render_job_ref(job, root)
    return base


def _task(state: JenkinsState, item: QueueItem, root: str, depth: int) -> dict[str, Any]:
    job = state.jobs.get(item.job)
    if job is None:
        return {"_class": "hudson.model.FreeStyleProject", "name": item.job.rsplit("/", 1)[-1]}
    if depth >= 1:
        return render_job(state, job, root, depth - 1)
    ref = render_job_ref(job, root)
    return ref


def render_item(state: JenkinsState, item: QueueItem, root: str, depth: int) -> dict[str, Any]:
    """``hudson.model.Queue$WaitingItem/$BlockedItem/$BuildableItem/$LeftItem``."""
    kind = {
        "waiting": "WaitingItem",
        "blocked": "BlockedItem",
        "buildable": "BuildableItem",
        "left": "LeftItem",
    }[item.state]
    actions: list[dict[str, Any]] = []
    if item.parameterized:
        actions.append(_param_action(item.params))
    actions.append(_cause_action(item.started_by))
    out: dict[str, Any] = {
        "_class": f"hudson.model.Queue${kind}",
        "actions": actions,
        "blocked": item.state == "blocked",
        "buildable": item.state == "buildable",
        "id": item.id,
        "inQueueSince": item.in_queue_since_ms,
        "params": "".join(
            f"\n{p.definition.name}=" + ("****" if p.definition.is_password else p.as_env)
            for p in item.params
        ),
        "stuck": item.stuck,
        "task": _task(state, item, root, depth),
        "url": item.url,
        "why": item.why,
    }
    if item.state == "waiting":
        out["timestamp"] = int(item.due * 1000)
    if item.state in {"blocked", "buildable"}:
        out["buildableStartMilliseconds"] = item.buildable_since_ms
    if item.state == "buildable":
        out["pending"] = item.pending
    if item.state == "left":
        out["cancelled"] = item.cancelled
        executable = None
        if not item.cancelled and item.build_number is not None and item.job in state.jobs:
            build = state.jobs[item.job].builds.get(item.build_number)
            if build is not None:
                executable = _build_ref(build, root)
        out["executable"] = executable
    return out


def render_queue(state: JenkinsState, root: str, depth: int) -> dict[str, Any]:
    """``hudson.model.Queue``: live items only."""
    return {
        "_class": "hudson.model.Queue",
        "discoverableItems": [],
        "items": [render_item(state, i, root, depth) for i in state.live_items()],
    }


def _offline_cause(node: Node, depth: int) -> dict[str, Any] | None:
    if node.offline_cause is None:
        return None
    if node.offline_cause == "user":
        out: dict[str, Any] = {"_class": "hudson.slaves.OfflineCause$UserCause"}
        if depth >= 1:
            text = f"Disconnected by {node.offline_by}"
            out["description"] = text + (
                f" : {node.offline_message}" if node.offline_message else ""
            )
            out["timestamp"] = node.offline_since_ms
        return out
    out = {"_class": "hudson.slaves.OfflineCause$ChannelTermination"}
    if depth >= 1:
        out["description"] = "Connection was broken"
        out["timestamp"] = node.offline_since_ms
    return out


def _offline_reason(node: Node) -> str:
    """``Computer.getOfflineCauseReason``: the user's message, "" without one."""
    if node.offline_cause == "user":
        return node.offline_message
    if node.offline_cause == "channel":
        return "Connection was broken"
    return ""


def render_computer(state: JenkinsState, node: Node, root: str, depth: int) -> dict[str, Any]:
    """``hudson.model.Hudson$MasterComputer`` / ``hudson.slaves.SlaveComputer``."""
    executors: list[dict[str, Any]] = []
    for executor in node.executors:
        entry: dict[str, Any] = {"_class": "hudson.model.Executor"}
        if depth >= 1:
            current: dict[str, Any] | None = None
            if executor.build is not None:
                build = state.jobs[executor.build[0]].builds[executor.build[1]]
                current = (
                    render_build(state, build, root, depth - 2)
                    if depth >= 2
                    else _build_ref(build, root)
                )
            entry.update(
                {
                    "currentExecutable": current,
                    "idle": executor.idle,
                    "likelyStuck": False,
                    "number": executor.number,
                    "progress": -1,
                }
            )
        executors.append(entry)
    out: dict[str, Any] = {
        # SwarmSlave uses the plain SlaveComputer too (it does not override createComputer).
        "_class": "hudson.model.Hudson$MasterComputer"
        if node.built_in
        else "hudson.slaves.SlaveComputer",
        "actions": [],
        "assignedLabels": [{"name": n} for n in sorted(node.labels)],
        "description": node.description,
        "displayName": node.display_name,
        "executors": executors,
        "icon": "symbol-computer" if node.online else "symbol-computer-offline",
        "iconClassName": "symbol-computer" if node.online else "symbol-computer-offline",
        "idle": node.idle,
        "jnlpAgent": not node.built_in,
        "launchSupported": node.built_in,
        "loadStatistics": {"_class": "hudson.model.Label$1"},
        "manualLaunchAllowed": node.built_in,
        "monitorData": {},
        "numExecutors": node.num_executors,
        "offline": not node.online,
        "offlineCause": _offline_cause(node, depth),
        "offlineCauseReason": _offline_reason(node),
        "oneOffExecutors": [],
        "temporarilyOffline": node.temporarily_offline,
    }
    if not node.built_in:
        out["absoluteRemotePath"] = node.remote_fs if node.connected else None
    return out


def render_computer_set(state: JenkinsState, root: str, depth: int) -> dict[str, Any]:
    """``hudson.model.ComputerSet``: built-in first; counts over online computers only."""
    nodes = [state.built_in, *state.agent_nodes()]
    online = [n for n in nodes if n.online]
    return {
        "_class": "hudson.model.ComputerSet",
        "busyExecutors": sum(len(n.executors) - len(n.idle_executors()) for n in online),
        "computer": [render_computer(state, n, root, depth) for n in nodes],
        "displayName": "Nodes",
        "totalExecutors": sum(n.num_executors for n in online),
    }


def render_label(state: JenkinsState, text: str, root: str, depth: int) -> dict[str, Any]:
    """``hudson.model.Label`` (``LabelAtom`` or a ``LabelExpression``), computed per request."""
    try:
        expr = parse_label(text)
        nodes = sorted(
            (n for n in state.nodes.values() if n.matches(expr)), key=lambda n: n.node_name
        )
        name = label_name(expr)
        atom = "&&" not in name and "||" not in name and "!" not in name and "->" not in name
    except LabelSyntaxError:
        nodes, name, atom = [], text, True
    online = [n for n in nodes if n.online]
    if not nodes:
        description: str | None = "invalid label"  # Label.getDescription, no node, no cloud
    elif len(nodes) == 1:
        description = nodes[0].description
    else:
        description = "group of " + " ".join(n.display_name for n in nodes)
    tied = [
        j
        for j in state.jobs.values()
        if j.config.label_string is not None and _canonical(j.config.label_string) == name
    ]

    def node_json(node: Node) -> dict[str, Any]:
        out: dict[str, Any] = {"_class": _node_class(node), "nodeName": node.node_name}
        if depth >= 1:
            out.update(
                {
                    "assignedLabels": [{"name": n} for n in sorted(node.labels)],
                    "mode": node.mode,
                    "nodeDescription": node.description,
                    "numExecutors": node.num_executors,
                }
            )
        return out

    return {
        "_class": "hudson.model.labels.LabelAtom"
        if atom
        else "hudson.model.labels.LabelExpression",
        "actions": [],
        "busyExecutors": sum(len(n.executors) - len(n.idle_executors()) for n in online),
        "clouds": [],
        "description": description,
        "idleExecutors": sum(len(n.idle_executors()) for n in online),
        "loadStatistics": {"_class": "hudson.model.Label$1"},
        "name": name,
        "nodes": [node_json(n) for n in nodes],
        "offline": not online,
        "tiedJobs": [render_job_ref(j, root) for j in tied],
        "totalExecutors": sum(n.num_executors for n in online),
    }


def _node_class(node: Node) -> str:
    """The ``Node`` subclass (not the computer): ``SwarmSlave`` for swarm nodes (API.md C4)."""
    if node.built_in:
        return "hudson.model.Hudson"
    return "hudson.plugins.swarm.SwarmSlave" if node.swarm else "hudson.slaves.DumbSlave"


def _canonical(text: str) -> str:
    try:
        return label_name(parse_label(text))
    except LabelSyntaxError:
        return text


def render_root(state: JenkinsState, root: str, depth: int) -> dict[str, Any]:
    """``hudson.model.Hudson`` at ``/api/json``."""
    return {
        "_class": "hudson.model.Hudson",
        "assignedLabels": [{"name": "built-in"}],
        "mode": "NORMAL",
        "nodeDescription": "the Jenkins controller's built-in node",
        "nodeName": "",
        "numExecutors": state.built_in.num_executors,
        "description": state.system_message,
        "jobs": [
            render_job(state, j, root, depth - 1) if depth >= 1 else render_job_ref(j, root)
            for j in state.children("")
        ],
        "overallLoad": {},
        "primaryView": {"_class": "hudson.model.AllView", "name": "all", "url": root},
        "quietDownReason": None,
        "quietingDown": False,
        "slaveAgentPort": -1,
        "unlabeledLoad": {"_class": "jenkins.model.UnlabeledLoadStatistics"},
        "url": root,
        "useCrumbs": True,
        "useSecurity": True,
        "views": [{"_class": "hudson.model.AllView", "name": "all", "url": root}],
    }


def render_user(user: str, root: str) -> dict[str, Any]:
    """``hudson.model.User`` at ``/me/api/json``."""
    return {
        "_class": "hudson.model.User",
        "absoluteUrl": f"{root}user/{user}",
        "description": None,
        "fullName": user,
        "id": user,
        "property": [],
    }
