"""The store's schema: numbered forward migrations and how they are applied."""

from __future__ import annotations

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "check_migrations",
    "current_version",
    "migrate",
]

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from ciorch.errors import StoreError
from ciorch.store._sqlite import translate


@dataclass(frozen=True, slots=True)
class Migration:
    """One forward schema step: ``sql`` (one or more statements) takes a file from
    ``version - 1`` to ``version``. It runs in one transaction with the version bump."""

    version: int
    sql: str


# Schema notes. Enum columns hold the enum values as text, checked by the model on read
# rather than by CHECK constraints, so adding a state needs no table rebuild. masters
# and agents belong to their team (ON DELETE CASCADE); hook_events, builds and
# pool_decisions name the team as plain text and outlive it, as history.
_V1 = """
CREATE TABLE teams (
    name        TEXT PRIMARY KEY,
    spec_json   TEXT NOT NULL,
    spec_digest TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE TABLE masters (
    team           TEXT PRIMARY KEY REFERENCES teams(name) ON DELETE CASCADE,
    image          TEXT NOT NULL,
    previous_image TEXT,
    url            TEXT,
    runtime_id     TEXT,
    state          TEXT NOT NULL,
    admin_user     TEXT,
    updated_at     REAL NOT NULL
);
CREATE TABLE agents (
    node_name   TEXT PRIMARY KEY,
    team        TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    agent_class TEXT NOT NULL,
    runtime_id  TEXT,
    state       TEXT NOT NULL,
    queue_id    INTEGER,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX agents_by_team_label ON agents (team, label, state);
CREATE TABLE hook_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key    TEXT NOT NULL UNIQUE,
    team          TEXT NOT NULL,
    repository    TEXT NOT NULL,
    ref           TEXT NOT NULL,
    revision      TEXT NOT NULL,
    job           TEXT NOT NULL,
    payload_json  TEXT NOT NULL,
    state         TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    received_at   REAL NOT NULL,
    dispatched_at REAL,
    queue_id      INTEGER
);
CREATE INDEX hook_events_pending ON hook_events (id) WHERE state = 'pending';
CREATE INDEX hook_events_pending_by_team ON hook_events (team, id) WHERE state = 'pending';
CREATE TABLE builds (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team        TEXT NOT NULL,
    job         TEXT NOT NULL,
    queue_id    INTEGER,
    number      INTEGER,
    result      TEXT,
    node_name   TEXT,
    started_at  REAL,
    finished_at REAL
);
CREATE INDEX builds_by_job ON builds (team, job, id);
CREATE INDEX builds_by_queue_id ON builds (team, queue_id);
CREATE TABLE pool_decisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    team          TEXT NOT NULL,
    label         TEXT NOT NULL,
    at            REAL NOT NULL,
    observed_json TEXT NOT NULL,
    current       INTEGER NOT NULL,
    desired       INTEGER NOT NULL,
    reason        TEXT NOT NULL
);
CREATE INDEX pool_decisions_by_pool ON pool_decisions (team, label, at);
"""

# v2: each team master's admin credential, and the jobs ciorch made on it with the
# digest of the config.xml it last sent (Jenkins rewrites config.xml as it saves it,
# so "unchanged" is judged against what ciorch sent, not what Jenkins answers).
# The credential: The secret is kept here (the file is made
# readable by its owner only) so ciorch can always reach the masters it made; it is
# never logged, and shown to the operator once, at onboarding.
_V2 = """
CREATE TABLE credentials (
    team       TEXT PRIMARY KEY REFERENCES teams(name) ON DELETE CASCADE,
    username   TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE managed_jobs (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    digest     TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (team, name)
);
"""

MIGRATIONS: tuple[Migration, ...] = (Migration(1, _V1), Migration(2, _V2))
"""Every forward migration, in order; never edit a released one, append a new one."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The schema version this code writes."""

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    applied_at REAL NOT NULL
)
"""


def check_migrations(migrations: Sequence[Migration], where: str) -> None:
    """Refuse a migration list that is empty or not numbered 1, 2, 3... in order."""
    versions = [m.version for m in migrations]
    if not versions or versions != list(range(1, len(versions) + 1)):
        raise StoreError(f"migrations must be numbered 1, 2, 3...; got {versions}", where=where)


def current_version(conn: sqlite3.Connection) -> int:
    """The file's schema version: 0 for a new (empty) file."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(
    conn: sqlite3.Connection,
    where: str,
    migrations: Sequence[Migration],
    clock: Callable[[], float],
) -> None:
    """Bring the file to the last of ``migrations``: each step in its own transaction
    with its version bump. Another process may be migrating the same file at once: the
    version is re-read under the write lock, so each step is applied exactly once."""
    target = len(migrations)
    try:
        version = current_version(conn)
    except sqlite3.DatabaseError as exc:
        raise translate(exc, where) from exc
    _check_not_newer(version, target, where)
    while version < target:
        step = migrations[version]
        try:
            conn.execute("BEGIN IMMEDIATE")
            version = current_version(conn)  # another process may have migrated meanwhile
            _check_not_newer(version, target, where)
            if version < target:
                step = migrations[version]
                conn.execute(_VERSION_TABLE)
                for statement in _statements(step.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (step.version, clock()),
                )
                version = step.version
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"migration to schema version {step.version} failed: {exc}", where=where
                ) from exc
            raise


def _check_not_newer(version: int, known: int, where: str) -> None:
    if version > known:
        raise StoreError(
            f"schema version {version} is newer than this ciorch supports ({known});"
            " upgrade ciorch",
            where=where,
        )


def _statements(script: str) -> list[str]:
    """Split ``script`` into complete SQL statements (``executescript`` would commit
    the open transaction first, so migrations run statement by statement)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \t\r\n;"):
        statements.append(pending.strip())  # an incomplete tail: let SQLite report it
    return statements
