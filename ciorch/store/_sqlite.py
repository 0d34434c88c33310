"""Opening a SQLite connection the way the store needs it, and translating sqlite3's
errors into ciorch's."""

from __future__ import annotations

__all__ = ["DEFAULT_BUSY_TIMEOUT", "connect", "translate"]

import sqlite3
import time

from ciorch.errors import StoreError, TemporaryError

DEFAULT_BUSY_TIMEOUT = 5.0
"""Seconds a writer waits for another connection's write lock before giving up."""


def connect(where: str, busy_timeout: float) -> sqlite3.Connection:
    """Open ``where`` in WAL mode with our pragmas; :class:`StoreError` naming the file if
    it cannot be opened or is not a SQLite database."""
    try:
        # isolation_level=None: sqlite3 never begins transactions behind our back; the
        # store issues BEGIN IMMEDIATE / COMMIT / SAVEPOINT itself. One connection is
        # shared by a Store's threads under its lock, hence check_same_thread=False.
        conn = sqlite3.connect(
            where, isolation_level=None, check_same_thread=False, timeout=busy_timeout
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the state store: {exc}", where=where) from exc
    try:
        _configure(conn, where, busy_timeout)
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection, where: str, busy_timeout: float) -> None:
    conn.row_factory = sqlite3.Row
    try:
        # Set first, so every statement below (even switching to WAL) waits for locks.
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        # Switching the journal mode is the first statement that reads the file's header.
        mode = _switch_to_wal(conn, busy_timeout)
        # FULL, not NORMAL: in WAL mode NORMAL survives a process crash but may lose the
        # last commits on power loss. A hook event is acknowledged to the SCM right after
        # it is recorded, so losing it means a commit is never built; and SQLite cannot
        # switch the level per transaction (not inside one). ciorch's write rate is
        # low (tens per second), so one WAL fsync per commit is affordable.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        if _code(exc) == sqlite3.SQLITE_NOTADB:
            raise StoreError("not a SQLite database", where=where) from exc
        raise translate(exc, where) from exc
    if where != ":memory:" and mode.lower() != "wal":
        raise StoreError(f"cannot switch the state store to WAL mode (is {mode})", where=where)


def _switch_to_wal(conn: sqlite3.Connection, busy_timeout: float) -> str:
    """Switch to WAL (a no-op if the file already is), retrying until ``busy_timeout``:
    while several processes create the same new file, the switch can return SQLITE_BUSY
    at once, without SQLite's busy handler waiting."""
    deadline = time.monotonic() + busy_timeout
    pause = 0.001
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if _code(exc) != sqlite3.SQLITE_BUSY or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)  # waiting for another process's lock, like the busy handler
        pause = min(pause * 2, 0.05)


def _code(exc: sqlite3.Error) -> int:
    """The primary SQLite result code of ``exc`` (0 if unknown)."""
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def translate(exc: sqlite3.Error, where: str) -> StoreError | TemporaryError:
    """The ciorch error for a sqlite3 error about the file ``where`` (chain ``exc``)."""
    if _code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return TemporaryError(
            f"the state store is locked by another writer: {exc}", where=where, delay=1.0
        )
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc):
        return StoreError("the state store is closed", where=where)
    return StoreError(f"state store error: {exc}", where=where)
