"""The reconcile loop: moves tasks towards every app's definition and finishes
deployments, in the background, as Marathon's scheduler does.

One pass: poll the executor, plan under the state lock (launch, kill, probe), call the
executor outside the lock, record the results under the lock. Only this thread calls
the executor.

Simplification (documented Marathon behaviour, reduced): a restart (config change)
starts all new tasks first and kills the old ones once the new ones are ready, whatever
the upgradeStrategy says; scale-down kills the youngest tasks first (killSelection
OLDEST_FIRST kills the oldest); the launch backoff is reset only by a config change.
A resident app (local persistent volumes) is the exception: its old tasks are killed
before new ones launch, the new ones get the reserved host ports again, and its volumes
are released to the executor once the app and its tasks are gone.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .deployments import STOP
from .executors import LaunchError, TaskExecutor, TaskStatus
from .state import MarathonState, is_resident
from .tasks import KILLING, RUNNING, STAGING, AppRecord, Task

__all__ = ["Reconciler"]

log = logging.getLogger(__name__)
Json = dict[str, Any]


class Reconciler:
    def __init__(
        self,
        state: MarathonState,
        executor: TaskExecutor,
        tick: float = 0.02,
        health_interval: float | None = None,
        health_deadline: float = 60.0,
    ) -> None:
        self.state = state
        self.executor = executor
        self.tick = tick
        self.health_interval = health_interval
        self.health_deadline = health_deadline
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._resident: set[str] = set()
        """Apps whose persistent volumes exist: released once the app and its tasks
        are gone."""

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="marathon-reconcile", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.run_once()
            except Exception:  # keep the emulator alive; a test sees the symptom
                log.exception("marathon emulator: reconcile pass failed")

    # ------------------------------------------------------------------ a pass

    def run_once(self) -> None:
        statuses = self.executor.poll()
        now = time.monotonic()
        with self.state.lock:
            launches, kills, probes = self._plan(statuses, now)
        launch_errors: dict[str, str] = {}
        for task in launches:
            try:
                self.executor.launch(task.spec)
            except LaunchError as exc:
                launch_errors[task.id] = str(exc)
        for task_id in kills:
            self.executor.kill(task_id)
        release = getattr(self.executor, "release", None)
        if release is not None:
            with self.state.lock:
                gone = {t.app_id for t in self.state.tasks.values()} | set(self.state.apps)
                released = self._resident - gone
                self._resident -= released
            for app_id in sorted(released):
                release(app_id)
        results = [
            (task, index, self.executor.check_health(task.spec, check))
            for task, index, check in probes
        ]
        now = time.monotonic()
        with self.state.lock:
            for task in launches:
                if task.id in launch_errors:
                    self._failed(task, "TASK_FAILED", launch_errors[task.id], now)
                else:
                    task.launched = True
            for task_id in kills:
                self.state.tasks.pop(task_id, None)
            for task, index, (alive, cause) in results:
                self._record_health(task, index, alive, cause, now)
            self._finish_deployments(now)

    def _plan(
        self, statuses: dict[str, TaskStatus], now: float
    ) -> tuple[list[Task], list[str], list[tuple[Task, int, Json]]]:
        state = self.state
        kills: list[str] = []
        for task in list(state.tasks.values()):
            if task.state == KILLING:
                if task.launched:
                    kills.append(task.id)
                else:
                    del state.tasks[task.id]
                continue
            if not task.launched:
                continue
            status = statuses.get(task.id, TaskStatus("failed", "Task lost"))
            if status.state in ("failed", "finished"):
                name = "TASK_FAILED" if status.state == "failed" else "TASK_FINISHED"
                self._failed(task, name, status.message, now)
                kills.append(task.id)
            elif (
                status.state == "running"
                and task.state == STAGING
                and now - task.staged_mono >= state.deployment_seconds
            ):
                task.state = RUNNING
                task.started_at = state.now()
                task.started_mono = now
        launches: list[Task] = []
        for record in list(state.apps.values()):
            launches.extend(self._converge(record, now, kills))
        probes: list[tuple[Task, int, Json]] = []
        for task in state.tasks.values():
            if task.state != RUNNING or task.app_id not in state.apps:
                continue
            checks = state.apps[task.app_id].definition.get("healthChecks", [])
            for index, check in enumerate(checks):
                if index < len(task.health) and task.health[index].next_check <= now:
                    interval = self.health_interval
                    if interval is None:
                        interval = float(check.get("intervalSeconds", 60))
                    task.health[index].next_check = now + max(interval, 0.05)
                    probes.append((task, index, check))
        return launches, kills, probes

    def _ready(self, task: Task) -> bool:
        return task.state == RUNNING and (not task.health or task.is_healthy())

    def _converge(self, record: AppRecord, now: float, kills: list[str]) -> list[Task]:
        state = self.state
        mine = [t for t in state.tasks.values() if t.app_id == record.app_id and t.state != KILLING]
        current = sorted(
            (t for t in mine if t.config_version == record.config_version), key=lambda t: t.seq
        )
        old = [t for t in mine if t.config_version != record.config_version]
        launches: list[Task] = []
        wanted = record.instances
        if is_resident(record.definition):
            self._resident.add(record.app_id)
            if old:
                # A resident task runs on its reservation (volume, ports): the old
                # task must go before the new one can launch (Marathon requires
                # maximumOverCapacity 0 for resident apps).
                for stale in old:
                    stale.state = KILLING
                    if stale.launched:
                        kills.append(stale.id)
                return launches
        if len(current) < wanted and now >= record.backoff_until:
            for _ in range(wanted - len(current)):
                task = state.new_task(record, now)
                if task is None:
                    break
                launches.append(task)
        elif len(current) > wanted:
            oldest_first = record.definition.get("killSelection") == "OLDEST_FIRST"
            # Staged tasks go before running ones, then by age.
            order = sorted(
                current,
                key=lambda t: (t.state == RUNNING, t.seq if oldest_first else -t.seq),
            )
            for task in order[: len(current) - wanted]:
                task.state = KILLING
                if task.launched:
                    kills.append(task.id)
        if old and sum(self._ready(t) for t in current) >= wanted:
            for task in old:
                task.state = KILLING
                if task.launched:
                    kills.append(task.id)
        return launches

    def _failed(self, task: Task, state_name: str, message: str, now: float) -> None:
        """Record a task failure; the task is marked for killing (its container, if
        any, is removed by the next pass)."""
        task.state = KILLING
        if not task.launched:
            self.state.tasks.pop(task.id, None)
        record = self.state.apps.get(task.app_id)
        if record is None:
            return
        record.last_failure = {
            "appId": task.app_id,
            "host": "127.0.0.1",
            "message": message,
            "state": state_name,
            "taskId": task.id,
            "timestamp": self.state.now(),
            "version": task.version,
            "slaveId": self.state.agent_id,
        }
        if state_name == "TASK_FINISHED":
            return
        definition = record.definition
        record.failures += 1
        delay = float(definition.get("backoffSeconds", 1)) * float(
            definition.get("backoffFactor", 1.15)
        ) ** (record.failures - 1)
        record.backoff_until = now + min(delay, float(definition.get("maxLaunchDelaySeconds", 300)))

    def _record_health(self, task: Task, index: int, alive: bool, cause: str, now: float) -> None:
        state = self.state
        if state.tasks.get(task.id) is not task or task.state != RUNNING:
            return
        record = state.apps.get(task.app_id)
        if record is None:
            return
        checks = record.definition.get("healthChecks", [])
        if index >= len(checks) or index >= len(task.health):
            return
        check, health = checks[index], task.health[index]
        stamp = state.now()
        if alive:
            health.alive = True
            health.consecutive_failures = 0
            health.first_success = health.first_success or stamp
            health.last_success = stamp
            return
        started = task.started_mono or now
        grace = float(check.get("gracePeriodSeconds", 300))
        if health.first_success is None and now - started < grace:
            return  # failures inside the grace period are ignored until a first success
        health.alive = False
        health.consecutive_failures += 1
        health.last_failure = stamp
        health.last_failure_cause = cause or "unhealthy"
        limit = int(check.get("maxConsecutiveFailures", 3))
        if limit > 0 and health.consecutive_failures >= limit and not record.gave_up:
            self._failed(task, "TASK_KILLED", "Task was killed since health check failed", now)

    def _finish_deployments(self, now: float) -> None:
        state = self.state
        for deployment in list(state.deployments.values()):
            if now - deployment.started < state.deployment_seconds:
                continue
            app_id = deployment.app_id
            tasks = [t for t in state.tasks.values() if t.app_id == app_id]
            if deployment.kind == STOP:
                if not tasks and app_id not in state.apps:
                    del state.deployments[deployment.id]
                continue
            record = state.apps.get(app_id)
            if record is None or record.config_version != deployment.config_version:
                del state.deployments[deployment.id]  # superseded
                continue
            checks = record.definition.get("healthChecks", [])
            if checks and now - deployment.started > self.health_deadline:
                # Marathon keeps trying for ever; the emulator stops replacing unhealthy
                # tasks and leaves the deployment running.
                record.gave_up = True
            done = (
                len(tasks) == record.instances
                and all(t.config_version == record.config_version for t in tasks)
                and all(self._ready(t) for t in tasks)
            )
            if done:
                del state.deployments[deployment.id]
