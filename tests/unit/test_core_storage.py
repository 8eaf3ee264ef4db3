"""The database wrapper and numbered, described migrations (core/storage.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.storage import CORE_MIGRATIONS, Database, Migration, MigrationError

STEPS = [
    Migration(1, "create notes", "CREATE TABLE demo_notes (id INTEGER PRIMARY KEY, text TEXT)"),
    Migration(2, "add author and an index", """
        ALTER TABLE demo_notes ADD COLUMN author TEXT NOT NULL DEFAULT '';
        CREATE INDEX demo_notes_author ON demo_notes (author);
    """),
]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "test.db")
    await database.open()
    yield database
    await database.close()


async def tables(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
    return {row["name"] for row in rows}


async def history(db: Database, owner: str) -> list[tuple[int, str]]:
    rows = await db.fetchall(
        "SELECT version, description FROM schema_history WHERE owner = ? ORDER BY version",
        (owner,),
    )
    return [(row["version"], row["description"]) for row in rows]


async def test_wal_mode_is_on(db: Database) -> None:
    row = await db.fetchone("PRAGMA journal_mode")
    assert row is not None and row[0] == "wal"
    row = await db.fetchone("PRAGMA foreign_keys")
    assert row is not None and row[0] == 1


async def test_migrations_apply_in_order_and_are_recorded(db: Database) -> None:
    assert await db.schema_version("demo") == 0
    await db.migrate("demo", STEPS[:1])
    assert await db.schema_version("demo") == 1
    assert "demo_notes" in await tables(db)
    await db.migrate("demo", STEPS)
    assert await db.schema_version("demo") == 2
    assert "demo_notes_author" in await tables(db)
    assert await history(db, "demo") == [(1, "create notes"), (2, "add author and an index")]
    await db.execute("INSERT INTO demo_notes (text, author) VALUES (?, ?)", ("hi", "@a:b"))
    row = await db.fetchone("SELECT text, author FROM demo_notes")
    assert row is not None and tuple(row) == ("hi", "@a:b")


async def test_owners_are_versioned_separately(db: Database) -> None:
    await db.migrate("core", CORE_MIGRATIONS)
    await db.migrate("demo", STEPS)
    assert await db.schema_version("core") == len(CORE_MIGRATIONS)
    assert await db.schema_version("demo") == 2
    assert await history(db, "core") == [(m.version, m.description) for m in CORE_MIGRATIONS]
    assert {"core_jobs", "core_state", "core_room_settings"} <= await tables(db)


async def test_rerunning_migrations_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    for _ in range(3):
        database = Database(path)
        await database.open()
        await database.migrate("demo", STEPS)
        await database.migrate("core", CORE_MIGRATIONS)
        await database.close()
    database = Database(path)
    await database.open()
    try:
        assert await database.schema_version("demo") == 2
        assert len(await history(database, "demo")) == 2
        assert len(await history(database, "core")) == len(CORE_MIGRATIONS)
    finally:
        await database.close()


async def test_a_failing_migration_rolls_back_completely(db: Database) -> None:
    await db.migrate("demo", STEPS[:1])
    await db.execute("INSERT INTO demo_notes (text) VALUES ('kept')")
    broken = [
        *STEPS[:1],
        Migration(2, "half good", """
            CREATE TABLE demo_extra (x INTEGER);
            INSERT INTO demo_extra VALUES (1);
            UPDATE demo_notes SET text = 'changed';
            CREATE TABLE demo_notes (duplicate INTEGER);
        """),
    ]
    with pytest.raises(MigrationError, match=r"demo migration 2 \(half good\) failed"):
        await db.migrate("demo", broken)
    assert "demo_extra" not in await tables(db)
    row = await db.fetchone("SELECT text FROM demo_notes")
    assert row is not None and row["text"] == "kept"
    assert await db.schema_version("demo") == 1
    assert await history(db, "demo") == [(1, "create notes")]
    # The connection is usable and not stuck in a transaction.
    assert not db.conn.in_transaction
    await db.migrate("demo", STEPS)
    assert await db.schema_version("demo") == 2


async def test_failure_in_the_first_migration_leaves_no_version(db: Database) -> None:
    bad = [Migration(1, "typo", "CREATE TABLE demo_a (x); CRATE TABLE demo_b (y)")]
    with pytest.raises(MigrationError):
        await db.migrate("demo", bad)
    assert "demo_a" not in await tables(db)
    assert await db.schema_version("demo") == 0
    assert await history(db, "demo") == []


@pytest.mark.parametrize(
    "versions",
    [[2], [1, 3], [2, 1], [1, 1], [0, 1], [1, 2, 2]],
)
async def test_malformed_numbering_is_refused(db: Database, versions: list[int]) -> None:
    steps = [Migration(v, f"step {v}", f"CREATE TABLE demo_{i} (x)") for i, v in enumerate(versions)]
    with pytest.raises(MigrationError, match="numbered 1, 2, 3"):
        await db.migrate("demo", steps)
    assert not {f"demo_{i}" for i in range(len(versions))} & await tables(db)
    assert await db.schema_version("demo") == 0


async def test_database_newer_than_code_is_refused(db: Database) -> None:
    await db.migrate("demo", STEPS)
    with pytest.raises(MigrationError, match="version 2, newer than this code"):
        await db.migrate("demo", STEPS[:1])
    assert await db.schema_version("demo") == 2


async def test_semicolons_in_literals_triggers_and_comments(db: Database) -> None:
    steps = [Migration(1, "tricky statements", """
        -- a comment; with a semicolon
        CREATE TABLE demo_log (text TEXT DEFAULT 'a;b');
        CREATE TABLE demo_count (n INTEGER);
        INSERT INTO demo_count VALUES (0);
        CREATE TRIGGER demo_log_count AFTER INSERT ON demo_log BEGIN
            UPDATE demo_count SET n = n + 1;
            UPDATE demo_count SET n = n + 10;
        END;
        /* trailing comment */
    """)]
    await db.migrate("demo", steps)
    await db.execute("INSERT INTO demo_log DEFAULT VALUES")
    row = await db.fetchone("SELECT text FROM demo_log")
    assert row is not None and row["text"] == "a;b"
    row = await db.fetchone("SELECT n FROM demo_count")
    assert row is not None and row["n"] == 11


async def test_cancelled_migration_rolls_back_and_stays_cancelled(db: Database) -> None:
    steps = [Migration(1, "slow", "CREATE TABLE demo_slow (x)")]
    original = db.conn.execute
    entered = asyncio.Event()

    def slow_execute(sql: str, *args: Any) -> Any:
        if not sql.startswith("CREATE TABLE demo_slow"):
            return original(sql, *args)

        async def run() -> Any:
            cursor = await original(sql, *args)
            entered.set()
            await asyncio.sleep(3600)
            return cursor

        return run()

    db.conn.execute = slow_execute  # type: ignore[method-assign]
    try:
        task = asyncio.create_task(db.migrate("demo", steps))
        await asyncio.wait_for(entered.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        del db.conn.execute
    assert "demo_slow" not in await tables(db)
    assert await db.schema_version("demo") == 0


async def test_transaction_is_all_or_nothing(db: Database) -> None:
    await db.migrate("demo", STEPS)
    await db.transaction([("INSERT INTO demo_notes (id, text) VALUES (1, 'one')", ())])
    with pytest.raises(sqlite3.IntegrityError):
        await db.transaction([
            ("INSERT INTO demo_notes (id, text) VALUES (?, ?)", (2, "two")),
            ("INSERT INTO demo_notes (id, text) VALUES (?, ?)", (1, "duplicate")),
        ])
    rows = await db.fetchall("SELECT id FROM demo_notes ORDER BY id")
    assert [row["id"] for row in rows] == [1]


async def test_execute_returns_changed_rows_and_closed_db_refuses(tmp_path: Path) -> None:
    database = Database(tmp_path / "rows.db")
    await database.open()
    await database.migrate("demo", STEPS)
    for text in ("a", "b", "c"):
        await database.execute("INSERT INTO demo_notes (text) VALUES (?)", (text,))
    assert await database.execute("UPDATE demo_notes SET author = 'x' WHERE text != 'a'") == 2
    assert await database.execute("DELETE FROM demo_notes WHERE text = 'zzz'") == 0
    await database.close()
    await database.close()  # twice is fine
    with pytest.raises(RuntimeError, match="not open"):
        await database.execute("SELECT 1")
