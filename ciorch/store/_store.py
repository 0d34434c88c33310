""":class:`Store`: every group of typed methods, and how a store is opened."""

from __future__ import annotations

__all__ = ["Store"]

import os
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from os import PathLike, fspath

from ciorch.store._history import History
from ciorch.store._runtime import RuntimeState
from ciorch.store._schema import MIGRATIONS, Migration, check_migrations, migrate
from ciorch.store._sqlite import DEFAULT_BUSY_TIMEOUT, connect


class Store(RuntimeState, History):
    """ciorch's state: open with :meth:`Store.open`, close with :meth:`close` (or use it
    as a context manager). Every public write is atomic by itself; group several with
    :meth:`transaction`. Safe to share between threads: one connection under a lock."""

    @classmethod
    def open(
        cls,
        path: str | PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> Store:
        """Open (creating if absent) the store at ``path`` (``":memory:"`` for tests),
        migrating an older file forward through ``migrations``. ``busy_timeout`` is how
        many seconds a write waits for another process's write lock. Raises
        :class:`~ciorch.errors.StoreError` naming the file if it cannot be opened, is not
        a SQLite database, or has a newer schema than ``migrations`` know."""
        where = fspath(path)
        check_migrations(migrations, where)
        if where != ":memory:" and not os.path.exists(where):
            # The store holds the masters' admin credentials: owner-only from birth.
            # (A folder that does not exist is left to connect() to report.)
            with suppress(OSError):
                os.close(os.open(where, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = connect(where, busy_timeout)
        try:
            migrate(conn, where, migrations, clock)
        except BaseException:
            conn.close()
            raise
        return cls(conn, where, clock)
