"""Opening files: fresh, older (migrated forward), newer (refused), not SQLite (refused)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ciorch.errors import StoreError
from ciorch.model import MasterState, TeamId
from ciorch.store import MIGRATIONS, SCHEMA_VERSION, Migration, Store

V1 = Migration(1, "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT);")
V2 = Migration(
    2,
    """
    ALTER TABLE things ADD COLUMN colour TEXT NOT NULL DEFAULT 'grey; really';
    CREATE TABLE audit (thing INTEGER, at TEXT);
    CREATE TRIGGER things_audit AFTER INSERT ON things BEGIN
        INSERT INTO audit VALUES (new.id, 'inserted; once');
    END;
    """,
)
V3 = Migration(3, "CREATE INDEX things_by_name ON things (name)")


def raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def versions(path: Path) -> list[int]:
    return [int(str(v)) for (v,) in raw(path, "SELECT version FROM schema_version ORDER BY 1")]


def test_fresh_file_is_created_at_the_current_version_in_wal_mode(db_path: Path) -> None:
    with Store.open(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
        assert store.path == str(db_path)
    assert versions(db_path) == list(range(1, SCHEMA_VERSION + 1))
    assert raw(db_path, "PRAGMA journal_mode") == [("wal",)]
    tables = {str(n) for (n,) in raw(db_path, "SELECT name FROM sqlite_master")}
    assert {"teams", "masters", "agents", "hook_events", "builds", "pool_decisions"} <= tables


def test_older_file_is_migrated_forward_once(db_path: Path) -> None:
    with Store.open(db_path, migrations=[V1]) as store:
        assert store.schema_version == 1
    raw_conn = sqlite3.connect(db_path)
    raw_conn.execute("INSERT INTO things (name) VALUES ('old')")
    raw_conn.commit()
    raw_conn.close()

    with Store.open(db_path, migrations=[V1, V2]) as store:
        assert store.schema_version == 2
    assert versions(db_path) == [1, 2]
    assert raw(db_path, "SELECT id, name, colour FROM things") == [(1, "old", "grey; really")]
    raw_conn = sqlite3.connect(db_path)
    raw_conn.execute("INSERT INTO things (name) VALUES ('new')")  # the trigger works
    raw_conn.commit()
    raw_conn.close()
    assert raw(db_path, "SELECT thing, at FROM audit") == [(2, "inserted; once")]

    # reopening at the same version applies nothing again (ALTER would fail if it did)
    with Store.open(db_path, migrations=[V1, V2]) as store:
        assert store.schema_version == 2
    with Store.open(db_path, migrations=[V1, V2, V3]) as store:
        assert store.schema_version == 3


def test_real_schema_keeps_its_data_through_a_later_migration(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.upsert_team(TeamId("a"), spec_json="{}", spec_digest="d", source="f")
        master = store.put_master(TeamId("a"), image="m", state=MasterState.HEALTHY)
    later = Migration(SCHEMA_VERSION + 1, "CREATE INDEX teams_by_digest ON teams (spec_digest)")
    with Store.open(db_path, migrations=[*MIGRATIONS, later]) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
        assert store.get_master(TeamId("a")) == master


def test_failed_migration_changes_nothing(db_path: Path) -> None:
    with Store.open(db_path, migrations=[V1]):
        pass
    broken = Migration(2, "CREATE TABLE audit (thing INTEGER); THIS IS NOT SQL;")
    with pytest.raises(StoreError) as caught:
        Store.open(db_path, migrations=[V1, broken])
    assert str(caught.value) == (
        f'migration to schema version 2 failed: near "THIS": syntax error ({db_path})'
    )
    assert versions(db_path) == [1]
    assert raw(db_path, "SELECT name FROM sqlite_master WHERE name = 'audit'") == []
    with Store.open(db_path, migrations=[V1, V2]) as store:  # a fixed one then applies
        assert store.schema_version == 2


@pytest.mark.parametrize(("known", "found"), [([V1], 2), ([V1, V2], 3)])
def test_newer_file_is_refused_naming_file_and_versions(
    db_path: Path, known: list[Migration], found: int
) -> None:
    with Store.open(db_path, migrations=[V1, V2, V3][:found]):
        pass
    with pytest.raises(StoreError) as caught:
        Store.open(db_path, migrations=known)
    assert str(caught.value) == (
        f"schema version {found} is newer than this ciorch supports ({len(known)});"
        f" upgrade ciorch ({db_path})"
    )
    assert caught.value.where == str(db_path)
    assert versions(db_path) == list(range(1, found + 1))  # untouched


@pytest.mark.parametrize(
    "content",
    [b"this is not a database\n" * 100, bytes(range(256)) * 16, b"SQLite format 3\x00" + b"x" * 84],
    ids=["text", "binary", "bad-header"],
)
def test_non_sqlite_file_is_refused_and_left_alone(db_path: Path, content: bytes) -> None:
    db_path.write_bytes(content)
    with pytest.raises(StoreError) as caught:
        Store.open(db_path)
    assert str(caught.value) == f"not a SQLite database ({db_path})"
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    assert db_path.read_bytes() == content


def test_unopenable_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "missing-dir" / "state.db"
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert (
        str(caught.value) == f"cannot open the state store: unable to open database file ({path})"
    )


@pytest.mark.parametrize(
    "migrations", [[], [V2], [V1, V3], [V2, V1]], ids=["none", "gap-at-1", "gap", "unordered"]
)
def test_badly_numbered_migrations_are_refused(db_path: Path, migrations: list[Migration]) -> None:
    with pytest.raises(StoreError, match="migrations must be numbered 1, 2, 3"):
        Store.open(db_path, migrations=migrations)
    assert not db_path.exists()


def test_memory_store_migrates_too() -> None:
    with Store.open(":memory:", migrations=[V1, V2]) as store:
        assert store.schema_version == 2
