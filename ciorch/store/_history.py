"""The store's event history: SCM hook events, builds and pool-sizing decisions."""

from __future__ import annotations

__all__ = ["History"]

from collections.abc import Collection
from typing import Any

from ciorch.errors import NotFoundError, PermanentError
from ciorch.model import (
    BuildRecord,
    HookEvent,
    HookState,
    JobName,
    Label,
    NodeName,
    PoolDecision,
    TeamId,
)
from ciorch.store import _rows
from ciorch.store._base import StoreBase


class History(StoreBase):
    """Hook events, builds and pool decisions (see :class:`ciorch.store.Store`)."""

    # -- hook events ------------------------------------------------------------------

    def record_hook_event(
        self,
        *,
        dedupe_key: str,
        team: TeamId,
        repository: str,
        ref: str,
        revision: str,
        job: JobName,
        payload_json: str,
    ) -> tuple[HookEvent, bool]:
        """Record a hook event as pending, once per ``dedupe_key``. Returns the event and
        whether it was created (``False``: a redelivery; the first recording, whatever
        its state now, is returned unchanged). Acknowledge the hook only after this
        returns: it is then on disk."""
        now = self._clock()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO hook_events (dedupe_key, team, repository, ref, revision, job,"
                " payload_json, state, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO NOTHING",
                (
                    dedupe_key,
                    team,
                    repository,
                    ref,
                    revision,
                    job,
                    payload_json,
                    HookState.PENDING.value,
                    now,
                ),
            )
            created = cursor.rowcount == 1
            row = conn.execute(
                f"SELECT {_rows.HOOK_COLUMNS} FROM hook_events WHERE dedupe_key = ?", (dedupe_key,)
            ).fetchone()
            return _rows.to_hook(row), created

    def get_hook_event(self, event_id: int) -> HookEvent:
        """The hook event ``event_id``; :class:`NotFoundError` if there is none."""
        with self._read() as conn:
            return _rows.get_hook(conn, event_id)

    def pending_hook_events(
        self, *, team: TeamId | None = None, limit: int = 100
    ) -> list[HookEvent]:
        """Up to ``limit`` pending events (of ``team`` if given), in arrival order."""
        # 'pending' is a literal, not a parameter, so SQLite uses the partial index.
        sql = f"SELECT {_rows.HOOK_COLUMNS} FROM hook_events WHERE state = 'pending'"
        params: list[Any] = []
        if team is not None:
            sql += " AND team = ?"
            params.append(team)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        with self._read() as conn:
            return [_rows.to_hook(row) for row in conn.execute(sql, params)]

    def list_hook_events(
        self,
        *,
        team: TeamId | None = None,
        states: Collection[HookState] | None = None,
        limit: int = 100,
    ) -> list[HookEvent]:
        """Up to ``limit`` events matching the filters, newest first."""
        where: list[str] = []
        params: list[Any] = []
        if team is not None:
            where.append("team = ?")
            params.append(team)
        if states is not None:
            where.append(f"state IN ({_rows.marks(states)})")
            params += [s.value for s in states]
        sql = f"SELECT {_rows.HOOK_COLUMNS} FROM hook_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        with self._read() as conn:
            return [_rows.to_hook(row) for row in conn.execute(sql, params)]

    def mark_hook_dispatched(self, event_id: int, queue_id: int) -> HookEvent:
        """A pending event was queued at its master as queue item ``queue_id``."""
        now = self._clock()
        return self._change_pending_hook(
            event_id,
            "state = 'dispatched', dispatched_at = ?, queue_id = ?",
            (now, queue_id),
        )

    def mark_hook_failed(self, event_id: int, error: str, *, permanent: bool = False) -> HookEvent:
        """A dispatch attempt failed: count it and keep ``error``. The event stays
        pending (to be retried) unless ``permanent``, which gives up on it (``failed``)."""
        state = HookState.FAILED if permanent else HookState.PENDING
        return self._change_pending_hook(
            event_id,
            "state = ?, attempts = attempts + 1, last_error = ?",
            (state.value, error),
        )

    def mark_hook_ignored(self, event_id: int, reason: str) -> HookEvent:
        """A pending event is deliberately not built (e.g. its job is gone)."""
        return self._change_pending_hook(event_id, "state = 'ignored', last_error = ?", (reason,))

    def _change_pending_hook(
        self, event_id: int, assignments: str, params: tuple[Any, ...]
    ) -> HookEvent:
        with self._write() as conn:
            event = _rows.get_hook(conn, event_id)
            if event.state is not HookState.PENDING:
                raise PermanentError(
                    f"hook event is {event.state.value}, not pending",
                    where=f"hook event {event_id}",
                )
            conn.execute(f"UPDATE hook_events SET {assignments} WHERE id = ?", (*params, event_id))
            return _rows.get_hook(conn, event_id)

    # -- builds -----------------------------------------------------------------------

    def record_build(
        self,
        *,
        team: TeamId,
        job: JobName,
        queue_id: int | None = None,
        number: int | None = None,
        node_name: NodeName | None = None,
        started_at: float | None = None,
    ) -> BuildRecord:
        """Record a build (queued, or already started); returns it with its new id."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO builds (team, job, queue_id, number, node_name, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (team, job, queue_id, number, node_name, started_at),
            )
            assert cursor.lastrowid is not None
            return _rows.get_build(conn, cursor.lastrowid)

    def update_build(self, build: BuildRecord) -> BuildRecord:
        """Store ``build`` (e.g. from ``dataclasses.replace``) over the record with its
        id; :class:`NotFoundError` if there is none. ``team`` and ``job`` never change."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE builds SET queue_id = ?, number = ?, result = ?, node_name = ?,"
                " started_at = ?, finished_at = ? WHERE id = ?",
                (
                    build.queue_id,
                    build.number,
                    None if build.result is None else build.result.value,
                    build.node_name,
                    build.started_at,
                    build.finished_at,
                    build.id,
                ),
            )
            if cursor.rowcount == 0:
                raise NotFoundError("no such build", where=f"build {build.id}")
            return _rows.get_build(conn, build.id)

    def get_build(self, build_id: int) -> BuildRecord:
        """The build ``build_id``; :class:`NotFoundError` if there is none."""
        with self._read() as conn:
            return _rows.get_build(conn, build_id)

    def find_build(self, team: TeamId, queue_id: int) -> BuildRecord | None:
        """The latest build of ``team`` recorded for queue item ``queue_id``, if any."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_rows.BUILD_COLUMNS} FROM builds WHERE team = ? AND queue_id = ?"
                " ORDER BY id DESC LIMIT 1",
                (team, queue_id),
            ).fetchone()
            return None if row is None else _rows.to_build(row)

    def list_builds(
        self,
        *,
        team: TeamId | None = None,
        job: JobName | None = None,
        unfinished: bool = False,
        limit: int = 100,
    ) -> list[BuildRecord]:
        """Up to ``limit`` builds matching the filters (``unfinished``: no result yet),
        newest first."""
        where: list[str] = []
        params: list[Any] = []
        if team is not None:
            where.append("team = ?")
            params.append(team)
        if job is not None:
            where.append("job = ?")
            params.append(job)
        if unfinished:
            where.append("finished_at IS NULL")
        sql = f"SELECT {_rows.BUILD_COLUMNS} FROM builds"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        with self._read() as conn:
            return [_rows.to_build(row) for row in conn.execute(sql, params)]

    # -- pool decisions ---------------------------------------------------------------

    def record_pool_decision(
        self,
        *,
        team: TeamId,
        label: Label,
        observed_json: str,
        current: int,
        desired: int,
        reason: str,
        at: float | None = None,
    ) -> PoolDecision:
        """Record a pool-sizing decision, made at ``at`` (default: now)."""
        when = self._clock() if at is None else at
        with self._write() as conn:
            cursor = conn.execute(
                f"INSERT INTO pool_decisions ({_rows.DECISION_COLUMNS})"
                " VALUES (NULL, ?, ?, ?, ?, ?, ?, ?)",
                (team, label, when, observed_json, current, desired, reason),
            )
            row = conn.execute(
                f"SELECT {_rows.DECISION_COLUMNS} FROM pool_decisions WHERE id = ?",
                (cursor.lastrowid,),
            ).fetchone()
            return _rows.to_decision(row)

    def list_pool_decisions(
        self, team: TeamId, label: Label, *, since: float | None = None
    ) -> list[PoolDecision]:
        """The pool's decisions made at or after ``since`` (all if not given), oldest
        first."""
        sql = f"SELECT {_rows.DECISION_COLUMNS} FROM pool_decisions WHERE team = ? AND label = ?"
        params: list[Any] = [team, label]
        if since is not None:
            sql += " AND at >= ?"
            params.append(since)
        with self._read() as conn:
            return [
                _rows.to_decision(row) for row in conn.execute(sql + " ORDER BY at, id", params)
            ]
