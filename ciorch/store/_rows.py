"""Column lists and row-to-record mapping for the store's tables."""

from __future__ import annotations

__all__ = [
    "AGENT_COLUMNS",
    "BUILD_COLUMNS",
    "DECISION_COLUMNS",
    "HOOK_COLUMNS",
    "MASTER_COLUMNS",
    "TEAM_COLUMNS",
    "get_agent",
    "get_build",
    "get_hook",
    "get_master",
    "get_team",
    "marks",
    "to_agent",
    "to_build",
    "to_decision",
    "to_hook",
    "to_master",
    "to_team",
]

import sqlite3
from collections.abc import Collection

from ciorch.errors import NotFoundError
from ciorch.model import (
    AgentClass,
    AgentRecord,
    AgentState,
    BuildRecord,
    BuildResult,
    HookEvent,
    HookState,
    JobName,
    Label,
    MasterRecord,
    MasterState,
    NodeName,
    PoolDecision,
    TeamId,
    TeamRecord,
)

TEAM_COLUMNS = "name, spec_json, spec_digest, source, created_at, updated_at"
MASTER_COLUMNS = "team, image, previous_image, url, runtime_id, state, admin_user, updated_at"
AGENT_COLUMNS = (
    "node_name, team, label, agent_class, runtime_id, state, queue_id, created_at, updated_at"
)
HOOK_COLUMNS = (
    "id, dedupe_key, team, repository, ref, revision, job, payload_json, state, attempts,"
    " last_error, received_at, dispatched_at, queue_id"
)
BUILD_COLUMNS = "id, team, job, queue_id, number, result, node_name, started_at, finished_at"
DECISION_COLUMNS = "id, team, label, at, observed_json, current, desired, reason"


def marks(values: Collection[object]) -> str:
    return ", ".join("?" * len(values)) if values else "NULL"


def get_team(conn: sqlite3.Connection, name: TeamId) -> TeamRecord:
    row = conn.execute(f"SELECT {TEAM_COLUMNS} FROM teams WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFoundError("no such team", where=f"team {name}")
    return to_team(row)


def get_master(conn: sqlite3.Connection, team: TeamId) -> MasterRecord:
    row = conn.execute(f"SELECT {MASTER_COLUMNS} FROM masters WHERE team = ?", (team,)).fetchone()
    if row is None:
        raise NotFoundError("no master recorded", where=f"master of team {team}")
    return to_master(row)


def get_agent(conn: sqlite3.Connection, node_name: NodeName) -> AgentRecord:
    row = conn.execute(
        f"SELECT {AGENT_COLUMNS} FROM agents WHERE node_name = ?", (node_name,)
    ).fetchone()
    if row is None:
        raise NotFoundError("no such agent", where=f"agent {node_name}")
    return to_agent(row)


def get_hook(conn: sqlite3.Connection, event_id: int) -> HookEvent:
    row = conn.execute(
        f"SELECT {HOOK_COLUMNS} FROM hook_events WHERE id = ?", (event_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError("no such hook event", where=f"hook event {event_id}")
    return to_hook(row)


def get_build(conn: sqlite3.Connection, build_id: int) -> BuildRecord:
    row = conn.execute(f"SELECT {BUILD_COLUMNS} FROM builds WHERE id = ?", (build_id,)).fetchone()
    if row is None:
        raise NotFoundError("no such build", where=f"build {build_id}")
    return to_build(row)


def to_team(row: sqlite3.Row) -> TeamRecord:
    return TeamRecord(
        name=TeamId(row["name"]),
        spec_json=row["spec_json"],
        spec_digest=row["spec_digest"],
        source=row["source"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def to_master(row: sqlite3.Row) -> MasterRecord:
    return MasterRecord(
        team=TeamId(row["team"]),
        image=row["image"],
        previous_image=row["previous_image"],
        url=row["url"],
        runtime_id=row["runtime_id"],
        state=MasterState(row["state"]),
        admin_user=row["admin_user"],
        updated_at=row["updated_at"],
    )


def to_agent(row: sqlite3.Row) -> AgentRecord:
    return AgentRecord(
        node_name=NodeName(row["node_name"]),
        team=TeamId(row["team"]),
        label=Label(row["label"]),
        agent_class=AgentClass(row["agent_class"]),
        runtime_id=row["runtime_id"],
        state=AgentState(row["state"]),
        queue_id=row["queue_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def to_hook(row: sqlite3.Row) -> HookEvent:
    return HookEvent(
        id=row["id"],
        dedupe_key=row["dedupe_key"],
        team=TeamId(row["team"]),
        repository=row["repository"],
        ref=row["ref"],
        revision=row["revision"],
        job=JobName(row["job"]),
        payload_json=row["payload_json"],
        state=HookState(row["state"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        received_at=row["received_at"],
        dispatched_at=row["dispatched_at"],
        queue_id=row["queue_id"],
    )


def to_build(row: sqlite3.Row) -> BuildRecord:
    result = row["result"]
    node_name = row["node_name"]
    return BuildRecord(
        id=row["id"],
        team=TeamId(row["team"]),
        job=JobName(row["job"]),
        queue_id=row["queue_id"],
        number=row["number"],
        result=None if result is None else BuildResult(result),
        node_name=None if node_name is None else NodeName(node_name),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def to_decision(row: sqlite3.Row) -> PoolDecision:
    return PoolDecision(
        id=row["id"],
        team=TeamId(row["team"]),
        label=Label(row["label"]),
        at=row["at"],
        observed_json=row["observed_json"],
        current=row["current"],
        desired=row["desired"],
        reason=row["reason"],
    )
