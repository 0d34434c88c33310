"""The embedded state store: one SQLite file behind typed methods.

Everything ciorch must remember across restarts lives here: teams and their specs, each
team's master, the agents ciorch started, SCM hook events (recorded before the hook is
acknowledged, so each is built exactly once even across crashes), builds and pool-sizing
decisions. Methods take and return :mod:`ciorch.model` types, never rows.

Concurrency: the file is opened in WAL mode, so readers never block the writer and
several processes can use it at once; writers take the write lock up front
(``BEGIN IMMEDIATE``) and wait up to ``busy_timeout`` for it. Within one process a
:class:`Store` holds ONE connection shared by all threads and guarded by a re-entrant
lock: a thread inside ``transaction()`` holds the lock until it ends, so another
thread's statements can never land in (or read from) someone else's transaction. (A
connection per thread would give ``":memory:"`` one database per thread; ciorch's write
rate does not need more.)

Deleting a team deletes its master and agent records with it; its hook events, builds
and pool decisions are kept, as history.

Errors: a file that cannot be opened, is not SQLite or has a newer schema raises
:class:`~ciorch.errors.StoreError` naming the file; a write lock not obtained within the
busy timeout raises :class:`~ciorch.errors.TemporaryError`; a missing object raises
:class:`~ciorch.errors.NotFoundError` naming it; changing a hook event that is no longer
pending raises :class:`~ciorch.errors.PermanentError`.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "Store",
]

from ciorch.store._schema import MIGRATIONS, SCHEMA_VERSION, Migration
from ciorch.store._sqlite import DEFAULT_BUSY_TIMEOUT
from ciorch.store._store import Store
