"""The emulated controller: jobs, the queue (``hudson.model.Queue``), nodes and builds.

Everything is guarded by one re-entrant lock; a scheduler thread runs
:meth:`JenkinsState.maintain` (``Queue.maintain``) every few milliseconds and whenever something
changes, so the queue moves asynchronously exactly as it does in Jenkins: a trigger answers a
queue item, the build appears later.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from . import queue_logic
from .config import JobConfig, parse_job_config, with_disabled
from .load import LoadTracker
from .model import (
    BUILT_IN_NAME,
    Build,
    Job,
    Node,
    ParamValue,
    QueueItem,
    agent_secret,
)

__all__ = ["ApiError", "JenkinsState"]


class ApiError(Exception):
    """An HTTP error answer: status, plain-text body and extra headers."""

    def __init__(self, status: int, message: str = "", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _ms(t: float) -> int:
    return int(t * 1000)


class JenkinsState:
    """Mutable model of one Jenkins controller plus its scheduler thread."""

    def __init__(
        self,
        *,
        quiet_period: float = 0.0,
        built_in_executors: int = 0,
        left_retention: float = 300.0,
        agent_timeout: float = 5.0,
        load_clock: float = 10.0,
        key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.quiet_period = quiet_period
        self.left_retention = left_retention
        self.agent_timeout = agent_timeout
        self.key = key or secrets.token_bytes(32)
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.jobs: dict[str, Job] = {}
        # Called with (full name, config.xml) when a job is created or changed, and
        # (full name, None) when it is deleted: JENKINS_HOME persistence hangs here.
        self.job_listener: Callable[[str, str | None], None] | None = None
        self.system_message: str | None = None
        self.casc_document: str | None = None
        self.casc_listener: Callable[[str], None] | None = None
        self.items: dict[int, QueueItem] = {}
        self.next_item_id = 1
        self.nodes: dict[str, Node] = {
            BUILT_IN_NAME: Node(
                BUILT_IN_NAME,
                built_in_executors,
                built_in=True,
                connected=True,
                agent_kind="virtual",
                description="the Jenkins controller's built-in node",
            )
        }
        self.load = LoadTracker(load_clock)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ----------------------------------------------------------------- scheduler thread
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="jenkins-queue", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.changed:
            self.changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            with self.changed:
                self.maintain()
                self.changed.wait(timeout=0.02)

    @contextmanager
    def mutate(self) -> Iterator[None]:
        """Hold the lock, then wake the scheduler and every long-polling agent."""
        with self.changed:
            yield
            self.changed.notify_all()

    @property
    def built_in(self) -> Node:
        return self.nodes[BUILT_IN_NAME]

    def now_ms(self) -> int:
        return _ms(self.clock())

    # ----------------------------------------------------------------- jobs
    def job(self, full_name: str) -> Job:
        job = self.jobs.get(full_name)
        if job is None:
            raise ApiError(404, f"no such job {full_name}")
        return job

    def _saved(self, full_name: str, xml: str | None) -> None:
        if self.job_listener is not None:
            self.job_listener(full_name, xml)

    def folder_exists(self, folder: str) -> bool:
        return folder == "" or (folder in self.jobs and self.jobs[folder].config.is_folder)

    def children(self, folder: str) -> list[Job]:
        return sorted(
            (j for j in self.jobs.values() if j.parent == folder), key=lambda j: j.name.lower()
        )

    def create_job(self, folder: str, name: str, xml: str) -> Job:
        """``ItemGroupMixIn.createProjectFromXML`` behind ``/createItem``."""
        with self.mutate():
            if not self.folder_exists(folder):
                raise ApiError(404, f"no such folder {folder}")
            full = f"{folder}/{name}" if folder else name
            if full in self.jobs:
                raise ApiError(
                    400,
                    f"A job already exists with the name ‘{name}’",
                    {"X-Error": f"A job already exists with the name ‘{name}’"},
                )
            config = self._parse(xml)
            job = Job(full, config)
            self.jobs[full] = job
            self._saved(full, xml)
            return job

    @staticmethod
    def _parse(xml: str) -> JobConfig:
        try:
            return parse_job_config(xml)
        except ValueError as exc:
            raise ApiError(500, f"java.io.IOException: Unable to read: {exc}") from exc

    def reconfigure(self, full_name: str, xml: str) -> None:
        with self.mutate():
            job = self.job(full_name)
            job.config = self._parse(xml)
            self._saved(full_name, xml)

    def delete_job(self, full_name: str) -> None:
        """``AbstractItem.doDoDelete``: queued items of the job are cancelled."""
        with self.mutate():
            self.job(full_name)
            doomed = [n for n in self.jobs if n == full_name or n.startswith(full_name + "/")]
            for name in doomed:
                for item in list(self.items.values()):
                    if item.job == name and item.state != "left":
                        self._leave(item, cancelled=True)
                for build in self.jobs[name].builds.values():
                    if build.building:
                        self._finish(build, "ABORTED")
                del self.jobs[name]
                self._saved(name, None)

    def set_disabled(self, full_name: str, disabled: bool) -> None:
        with self.mutate():
            job = self.job(full_name)
            job.config = self._parse(with_disabled(job.config.xml, disabled))
            self._saved(full_name, job.config.xml)

    # ----------------------------------------------------------------- queue
    def trigger(
        self,
        full_name: str,
        submitted: dict[str, str] | None,
        user: str,
        delay: float | None = None,
    ) -> tuple[QueueItem, bool]:
        """``Queue.schedule2`` behind ``/build`` (submitted None) and ``/buildWithParameters``.

        Returns the item and whether the trigger merged into an item already queued with the
        same parameters (``Queue.scheduleInternal``: same task, equal ParametersAction).
        """
        with self.mutate():
            job = self.job(full_name)
            config = job.config
            if config.is_folder:
                raise ApiError(405, "folders cannot be built")
            if config.disabled:
                raise ApiError(409, f"{job.name} is disabled")
            if submitted is not None and not config.parameters:
                # 400 since Jenkins 2.524 (500 before); API.md A.
                raise ApiError(400, f"{job.name} is not parameterized")
            params = tuple(
                ParamValue(d, d.coerce(submitted[d.name]))
                if submitted is not None and d.name in submitted
                else ParamValue(d, d.default)
                for d in config.parameters
            )
            for item in self.items.values():
                if item.job == full_name and item.state != "left" and item.same_params(params):
                    return item, True
            now = self.clock()
            # ?delay= wins, then the job's <quietPeriod>, then the controller's default.
            quiet = delay if delay is not None else config.quiet_period
            if quiet is None:
                quiet = self.quiet_period
            item = QueueItem(
                id=self.next_item_id,
                job=full_name,
                params=params,
                parameterized=bool(config.parameters),
                started_by=user,
                in_queue_since_ms=_ms(now),
                due=now + quiet,
            )
            self.next_item_id += 1
            self.items[item.id] = item
            queue_logic.update_item(self, item, now)
            return item, False

    def item(self, item_id: int) -> QueueItem:
        item = self.items.get(item_id)
        if item is None:
            raise ApiError(404, f"no queue item {item_id}")
        return item

    def live_items(self) -> list[QueueItem]:
        """``Queue.getItems`` order: waiting, blocked, buildable, then pending."""
        order = {"waiting": 0, "blocked": 1, "buildable": 2}
        live = [i for i in self.items.values() if i.state != "left"]
        return sorted(live, key=lambda i: (order[i.state] + (1 if i.pending else 0), i.id))

    def cancel(self, item_id: int) -> None:
        """``Queue.doCancelItem``: 204, 404 when unknown, 422 when it can no longer be cancelled."""
        with self.mutate():
            item = self.items.get(item_id)
            if item is None:
                raise ApiError(404, f"no queue item {item_id}")
            if item.state == "left" or item.pending:
                raise ApiError(422, f"queue item {item_id} cannot be cancelled")
            self._leave(item, cancelled=True)

    def _leave(self, item: QueueItem, *, cancelled: bool) -> None:
        item.state = "left"
        item.pending = False
        item.cancelled = cancelled
        item.why = None
        item.stuck = False
        item.left_at = self.clock()

    # ----------------------------------------------------------------- nodes
    def node(self, name: str) -> Node:
        if name in {"(master)", "(built-in)", "master", "Built-In Node"}:
            return self.built_in
        node = self.nodes.get(name)
        if node is None:
            raise ApiError(404, f"no such node {name}")
        return node

    def agent_nodes(self) -> list[Node]:
        return sorted((n for n in self.nodes.values() if not n.built_in), key=lambda n: n.name)

    def add_node(self, node: Node) -> None:
        with self.mutate():
            if node.name in self.nodes:
                raise ApiError(400, f"Agent called ‘{node.name}’ already exists")
            self.nodes[node.name] = node

    def remove_node(self, name: str) -> None:
        """``Nodes.removeNode``: disconnect ("Node is being removed"), fail its builds.

        The console line "FATAL: no longer a configured node for N" is read in the code, not
        confirmed on a live server (API.md C2). Jenkins keeps the Computer listed until the
        executor ends; here the build ends at once, so the node disappears at once.
        """
        with self.mutate():
            node = self.node(name)
            if node.built_in:
                raise ApiError(400, "the built-in node cannot be deleted")
            self._drop_work(node, lambda b: f"FATAL: no longer a configured node for {name}")
            del self.nodes[node.name]

    def toggle_offline(self, name: str, message: str, user: str) -> None:
        """``Computer.doToggleOffline``: flips only ``temporarilyOffline``; builds continue."""
        with self.mutate():
            node = self.node(name)
            node.temporarily_offline = not node.temporarily_offline
            if node.temporarily_offline:
                node.offline_cause = "user"
                node.offline_message = message
                node.offline_by = user
                node.offline_since_ms = self.now_ms()
            else:
                node.offline_cause = None if node.connected else node.offline_cause
                if node.offline_cause == "user":
                    node.offline_cause = None
                node.offline_message = ""

    def secret(self, name: str) -> str:
        return agent_secret(self.key, name)

    # ----------------------------------------------------------------- agent connections
    def connect(self, name: str, secret: str, kind: str) -> str:
        """``WebSocketAgents.doIndex`` / ``DefaultJnlpSlaveReceiver`` accepting an agent."""
        with self.mutate():
            node = self.nodes.get(name)
            if node is None or node.built_in:
                raise ApiError(400, "no such agent")
            if not secrets.compare_digest(secret, self.secret(name)):
                raise ApiError(403, "wrong secret")
            if node.connected:
                raise ApiError(
                    400,
                    f"{name} is already connected to this controller. Rejecting this connection.",
                )
            node.connected = True
            node.agent_kind = kind
            node.session = secrets.token_hex(8)
            node.last_seen = self.clock()
            if node.offline_cause == "channel":
                node.offline_cause = None
            return node.session

    def session_node(self, name: str, session: str, *, alive: bool = True) -> Node:
        """The node of a live agent session (409 once it is gone); ``alive`` marks a heartbeat."""
        node = self.nodes.get(name)
        if node is None or not node.connected or node.session != session:
            raise ApiError(409, f"{name} is not connected")
        if alive:
            node.last_seen = self.clock()
        return node

    def disconnect(self, name: str, *, lost: bool) -> None:
        """The channel closed: an orderly disconnect or a lost agent (API.md C2).

        Both end the same way in Jenkins (``ChannelTermination``); ``lost`` only documents
        the caller's intent.

        Builds running there fail ("Agent went offline during the build"); items assigned but
        not started go back to the queue with the same id (``Executor.resetWorkUnit``). A swarm
        node without keepDisconnectedClients is removed (``SwarmLauncher.afterDisconnect``).
        """
        with self.mutate():
            node = self.nodes.get(name)
            if node is None or not node.connected:
                return
            node.connected = False
            node.agent_kind = None
            node.session = None
            if not node.temporarily_offline:
                node.offline_cause = "channel"
                node.offline_since_ms = self.now_ms()
            self._drop_work(
                node,
                lambda b: (
                    "Agent went offline during the build\n"
                    "ERROR: Connection was broken\n"
                    "Build step 'Execute shell' marked build as failure"
                ),
            )
            if node.swarm and not node.keep_disconnected:
                del self.nodes[name]

    def _drop_work(self, node: Node, console: Callable[[Build], str]) -> None:
        for executor in node.executors:
            if executor.reserved_item is not None:
                item = self.items.get(executor.reserved_item)
                executor.reserved_item = None
                if item is not None and item.state != "left":
                    item.pending = False
                    item.assigned = None
                    queue_logic.update_item(self, item, self.clock())
            if executor.build is not None:
                build = self.jobs[executor.build[0]].builds[executor.build[1]]
                build.console.append(console(build) + "\n")
                self._finish(build, "FAILURE")

    # ----------------------------------------------------------------- builds
    def build(self, full_name: str, number: int) -> Build:
        build = self.job(full_name).builds.get(number)
        if build is None:
            raise ApiError(404, f"no build {full_name} #{number}")
        return build

    def start_build(self, node: Node, executor_number: int) -> Build:
        """``Executor.run`` -> ``Queue.onStartExecuting``: the item leaves, the build exists."""
        executor = node.executors[executor_number]
        assert executor.reserved_item is not None
        item = self.items[executor.reserved_item]
        job = self.jobs[item.job]
        now = self.clock()
        build = Build(
            job=item.job,
            number=job.next_number,
            queue_id=item.id,
            built_on=node.node_name,
            node_name=node.name,
            executor_number=executor_number,
            params=item.params,
            timestamp_ms=_ms(now),
            estimated_ms=queue_logic.estimated_duration(job),
            started_by=item.started_by,
        )
        job.next_number += 1
        job.builds[build.number] = build
        where = (
            "Building on the built-in node"
            if node.built_in
            else f"Building remotely on {node.name}"
            + (f" ({node.label_string})" if node.label_string.strip() else "")
        )
        build.console.append(
            f"Started by user {item.started_by}\nRunning as SYSTEM\n"
            f"{where} in workspace {node.remote_fs}/workspace/{item.job}\n"
        )
        executor.reserved_item = None
        executor.build = (job.full_name, build.number)
        item.build_number = build.number
        item.assigned = None
        self._leave(item, cancelled=False)
        if node.agent_kind == "virtual":
            seconds = job.config.simulated_seconds or 0.0
            build.work_until = now + seconds
        return build

    def append_console(self, build: Build, text: str) -> None:
        with self.mutate():
            build.console.append(text)

    def complete(self, build: Build, exit_code: int) -> None:
        """The steps ended: 0 keeps SUCCESS, anything else marks FAILURE (``Shell``)."""
        with self.mutate():
            if not build.building:
                return
            if build.abort_requested:
                self._finish(build, "ABORTED")
            elif exit_code == 0:
                self._finish(build, "SUCCESS")
            else:
                build.console.append(
                    "Build step 'Execute shell' marked build as failure\n" if exit_code > 0 else ""
                )
                self._finish(build, "FAILURE")

    def request_stop(self, build: Build, user: str) -> None:
        """``Executor.interrupt`` via ``/stop``: asynchronous; the result turns ABORTED later."""
        with self.mutate():
            if build.building and not build.abort_requested:
                build.abort_requested = True
                build.aborted_by = user

    def abort_running(self, node: Node, console: str) -> None:
        """End every build on the node ABORTED at once (executors interrupted on shutdown)."""
        with self.mutate():
            for executor in node.executors:
                if executor.build is not None:
                    build = self.jobs[executor.build[0]].builds[executor.build[1]]
                    build.console.append(console)
                    self._finish(build, "ABORTED")

    def _finish(self, build: Build, result: str) -> None:
        if not build.building:
            return
        if result == "ABORTED" and build.aborted_by:
            build.console.append(f"Aborted by {build.aborted_by}\n")
        build.result = result
        build.state = "COMPLETED"
        build.duration_ms = max(1, self.now_ms() - build.timestamp_ms)
        build.console.append(f"Finished: {result}\n")
        node = self.nodes.get(build.node_name)
        if node is not None:
            executor = node.executors[build.executor_number]
            if executor.build == (build.job, build.number):
                executor.build = None

    # ----------------------------------------------------------------- maintenance
    def maintain(self) -> None:
        """One ``Queue.maintain`` pass plus agent timeouts, virtual work and left-item expiry."""
        now = self.clock()
        for node in list(self.nodes.values()):
            if (
                node.connected
                and node.agent_kind == "http"
                and now - node.last_seen > self.agent_timeout
            ):
                self.disconnect(node.name, lost=True)
        for node in self.nodes.values():
            if node.agent_kind != "virtual" or not node.connected:
                continue
            for executor in node.executors:
                if executor.reserved_item is not None:
                    self.start_build(node, executor.number)
                    self.changed.notify_all()
                if executor.build is not None:
                    build = self.jobs[executor.build[0]].builds[executor.build[1]]
                    if build.abort_requested:
                        self._finish(build, "ABORTED")
                    elif build.work_until is not None and now >= build.work_until:
                        result = self.jobs[build.job].config.simulated_result
                        if result != "SUCCESS":
                            build.console.append("Build step marked build as failure\n")
                        self._finish(build, result)
                    self.changed.notify_all()
        if queue_logic.schedule(self, now):
            self.changed.notify_all()
        for item in list(self.items.values()):
            if item.left_at is not None and now - item.left_at > self.left_retention:
                del self.items[item.id]
        self.load.maybe_tick(self, now)

    def claim_builds(self, node: Node) -> list[Build]:
        """Start the builds assigned to an HTTP agent's executors and hand them over once."""
        handed: list[Build] = []
        for executor in node.executors:
            if executor.reserved_item is not None:
                self.start_build(node, executor.number)
            if executor.build is not None:
                build = self.jobs[executor.build[0]].builds[executor.build[1]]
                if not build.delivered:
                    build.delivered = True
                    handed.append(build)
        return handed
