"""The store's connection handling: the lock, transactions and error translation that
every group of typed methods builds on."""

from __future__ import annotations

__all__ = ["StoreBase"]

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Self

from ciorch.errors import StoreError
from ciorch.store._schema import current_version
from ciorch.store._sqlite import translate


class StoreBase:
    """One shared connection, guarded by a re-entrant lock; see :class:`ciorch.store.Store`."""

    def __init__(self, conn: sqlite3.Connection, path: str, clock: Callable[[], float]) -> None:
        """Use ``Store.open``; this wraps an already opened and migrated connection."""
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0  # transaction nesting depth; 0 = none open

    @property
    def path(self) -> str:
        """The file this store was opened from (or ``":memory:"``)."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The file's schema version."""
        with self._read() as conn:
            return current_version(conn)

    def close(self) -> None:
        """Close the file. Idempotent; any later call raises :class:`StoreError`."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically: all of them or (on an exception) none. Nested use
        joins the outer transaction; an exception leaving an inner block undoes only
        that block's writes (a savepoint) and propagates. Holds this store's lock, so
        other threads wait until it ends; other processes wait up to the busy timeout
        (then :class:`~ciorch.errors.TemporaryError`)."""
        with self._lock:
            conn = self._connection()
            if self._depth:
                yield from self._savepoint(conn)
                return
            with self._errors():
                # IMMEDIATE takes the write lock now (waiting up to the busy timeout),
                # so a transaction never fails half-way when upgrading a read lock.
                conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
                with self._errors():
                    conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    def _savepoint(self, conn: sqlite3.Connection) -> Iterator[None]:
        name = f"ciorch_{self._depth}"
        with self._errors():
            conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            with self._errors():
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        else:
            with self._errors():
                conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the state store is closed", where=self._path)
        return self._conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads outside or inside a transaction."""
        with self._lock, self._errors():
            yield self._connection()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """The connection inside a transaction (its own, or the caller's)."""
        with self.transaction(), self._errors():
            yield self._connection()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Translate sqlite3's errors into ciorch's, once, with the cause chained."""
        try:
            yield
        except sqlite3.Error as exc:
            raise translate(exc, self._path) from exc
