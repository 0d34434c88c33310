"""Queue decisions of ``hudson.model.Queue``: states, ``why`` texts, ``stuck`` and assignment.

Functions here read and update the objects of :class:`~ciorch.testing.jenkins.state.JenkinsState`
while its lock is held; they never take a lock themselves.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .labels import Atom, Expr, LabelSyntaxError, parse_label
from .model import BUILT_IN_LABEL, Job, Node, QueueItem

if TYPE_CHECKING:
    from .state import JenkinsState

__all__ = [
    "estimated_duration",
    "item_label",
    "label_name",
    "schedule",
    "time_span",
    "update_item",
]


def time_span(seconds: float) -> str:
    """``hudson.Util.getTimeSpanString`` for the spans a queue shows."""
    millis = max(0, int(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    if hours:
        return f"{hours} hr {minutes} min"
    if minutes:
        return f"{minutes} min {secs} sec"
    if secs >= 10:
        return f"{secs} sec"
    if secs >= 1:
        return f"{secs + (ms // 100) / 10:.1f} sec"
    if ms >= 100:
        return f"{(ms // 10) / 100:.2f} sec"
    return f"{ms} ms"


def estimated_duration(job: Job) -> int:
    """``Run.getEstimatedDuration``: mean of the last (up to 3) successful builds, else -1."""
    done = [
        b.duration_ms
        for b in sorted(job.builds.values(), key=lambda b: -b.number)
        if not b.building and b.result in {"SUCCESS", "UNSTABLE"}
    ][:3]
    return sum(done) // len(done) if done else -1


def item_label(state: JenkinsState, item: QueueItem) -> Expr | None:
    """``Queue.Item.getAssignedLabel`` -> ``AbstractProject.getAssignedLabel`` (API.md C1)."""
    job = state.jobs.get(item.job)
    if job is None:
        return None
    config = job.config
    if config.tied_to_built_in:
        return Atom(BUILT_IN_LABEL)
    if config.label_string is None:
        return None
    try:
        return parse_label(config.label_string)
    except LabelSyntaxError:
        return Atom(config.label_string)


def label_name(label: Expr) -> str:
    return label.canonical()


def _nodes_of(state: JenkinsState, label: Expr) -> list[Node]:
    return [n for n in state.nodes.values() if n.matches(label)]


def _can_take(node: Node, label: Expr | None) -> str | None:
    """``Node.canTake``: None when the node may run the item, else the cause text."""
    if label is None:
        if node.mode == "EXCLUSIVE":
            return f"‘{node.name}’ is reserved for jobs with matching label expression"
        return None
    if not node.matches(label):
        return f"‘{node.display_name}’ doesn’t have label ‘{label_name(label)}’"
    return None


def _why_not_assigned(state: JenkinsState, item: QueueItem, label: Expr | None) -> str:
    """``BuildableItem.getCauseOfBlockage`` for an item no executor took."""
    if not state.agent_nodes():
        label = None  # "no master/agent. pointless to talk about nodes" (Queue.java)
    if label is not None:
        nodes = _nodes_of(state, label)
        offline = not any(n.online for n in nodes)
        if offline:
            if len(nodes) == 1:
                return f"‘{nodes[0].display_name}’ is offline"
            if not nodes:
                return f"There are no nodes with the label ‘{label_name(label)}’"
            return f"All nodes of label ‘{label_name(label)}’ are offline"
        if len(nodes) == 1:
            return f"Waiting for next available executor on ‘{nodes[0].display_name}’"
        return f"Waiting for next available executor on ‘{label_name(label)}’"
    reasons = []
    for node in state.agent_nodes():
        if node.online and node.idle_executors():
            cause = _can_take(node, None)
            if cause:
                reasons.append(cause)
    if not reasons:
        return "Waiting for next available executor"
    if len(reasons) > 5:  # CompositeCauseOfBlockage
        return "; ".join(reasons[:5]) + f"; ... and {len(reasons) - 5} more"
    return "; ".join(reasons)


def _is_stuck(state: JenkinsState, item: QueueItem, label: Expr | None, now: float) -> bool:
    """``BuildableItem.isStuck``: label offline, or 10 x estimate (min 1 min), or 24 h."""
    if label is not None and not any(n.online for n in _nodes_of(state, label)):
        return True
    job = state.jobs.get(item.job)
    estimate = estimated_duration(job) if job else -1
    elapsed_ms = now * 1000 - item.buildable_since_ms
    if estimate >= 0:
        return elapsed_ms > max(estimate, 60_000) * 10
    return elapsed_ms > 24 * 3_600_000


def _blocking_build(state: JenkinsState, item: QueueItem) -> int | None:
    """``AbstractProject.getCauseOfBlockage``: a non-concurrent job that is already building."""
    job = state.jobs.get(item.job)
    if job is None or job.config.concurrent:
        return None
    running = [b.number for b in job.builds.values() if b.building]
    if running:
        return max(running)
    for other in state.items.values():
        if other.job == item.job and other.pending and other.id != item.id:
            return job.next_number
    return None


def update_item(state: JenkinsState, item: QueueItem, now: float) -> None:
    """Move a live item between waiting, blocked and buildable and refresh ``why``/``stuck``."""
    if item.state == "left" or item.pending:
        return
    if item.state == "waiting" and now < item.due:
        item.why = f"In the quiet period. Expires in {time_span(item.due - now)}"
        return
    if item.state == "waiting":
        item.buildable_since_ms = int(now * 1000)
    blocking = _blocking_build(state, item)
    if blocking is not None:
        item.state = "blocked"
        job = state.jobs[item.job]
        estimate = estimated_duration(job)
        eta = "N/A" if estimate < 0 else time_span(estimate / 1000)
        item.why = f"Build #{blocking} is already in progress (ETA: {eta})"
        item.stuck = False
        return
    item.state = "buildable"
    label = item_label(state, item)
    item.why = _why_not_assigned(state, item, label)
    item.stuck = _is_stuck(state, item, label, now)


def _balance(job: str, nodes: list[Node]) -> list[Node]:
    """``LoadBalancer.CONSISTENT_HASH``: candidates ordered by a hash of job and node name."""

    def key(node: Node) -> str:
        return hashlib.md5(f"{job}\0{node.name}".encode()).hexdigest()

    return sorted(nodes, key=key)


def schedule(state: JenkinsState, now: float) -> bool:
    """Assign buildable items to idle executors; True when anything changed."""
    changed = False
    for item in state.live_items():
        before = (item.state, item.why, item.stuck, item.pending)
        update_item(state, item, now)
        if item.state == "buildable" and not item.pending:
            label = item_label(state, item)
            candidates = [
                n
                for n in state.nodes.values()
                if n.online and n.idle_executors() and _can_take(n, label) is None
            ]
            if label is None:
                candidates = [n for n in candidates if not n.built_in or n.num_executors > 0]
            if candidates:
                node = _balance(item.job, candidates)[0]
                executor = node.idle_executors()[0]
                executor.reserved_item = item.id
                item.pending = True
                item.assigned = (node.name, executor.number)
                item.why = None  # not confirmed: a pending item's why is transient
                item.stuck = False
        changed = changed or before != (item.state, item.why, item.stuck, item.pending)
    return changed
