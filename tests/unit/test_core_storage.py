"""The database wrapper and numbered, described migrations (core/storage.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.storage import CORE_MIGRATIONS, Database, DatabaseUnwritable, Migration, MigrationError

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


# -- a file that stops taking writes (made read-only for real: see faults.py) --


async def notes(path: Path) -> list[str]:
    """What is in the file, read by a connection of its own."""
    reader = Database(path)
    await reader.open()
    try:
        return [row["text"] for row in await reader.fetchall(
            "SELECT text FROM demo_notes ORDER BY id")]
    finally:
        await reader.close()


async def test_a_file_made_read_only_under_an_open_connection_is_told_once_then_recovered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.integration.faults import ReadOnlyDatabase

    path = tmp_path / "bot.db"
    database = Database(path, probe_seconds=0.05)
    await database.open()
    await database.migrate("demo", STEPS)
    await database.execute("INSERT INTO demo_notes (text) VALUES ('before')")
    fault = ReadOnlyDatabase(path, database)
    await fault.apply()
    try:
        with caplog.at_level("ERROR", logger="core.storage"):
            # The first write after the fault is a transaction: none of it lands.
            with pytest.raises(DatabaseUnwritable):
                await database.transaction([
                    ("INSERT INTO demo_notes (text) VALUES (?)", ("half 1",)),
                    ("INSERT INTO demo_notes (text) VALUES (?)", ("half 2",)),
                ])
            assert not database.writable and database.unwritable_reason
            for attempt in range(5):
                with pytest.raises(DatabaseUnwritable):
                    await database.execute("INSERT INTO demo_notes (text) VALUES (?)",
                                           (f"refused {attempt}",))
            # Reads go on while writes are refused.
            rows = await database.fetchall("SELECT text FROM demo_notes")
            assert [row["text"] for row in rows] == ["before"]
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        told = errors[0].getMessage()
        assert str(path) in told and "writable by this user" in told
        assert "resumes by itself" in told
        assert database.refused_writes == 5
        # Still refused while the file is read-only, however long it lasts.
        await asyncio.sleep(0.3)
        assert not database.writable
    finally:
        await fault.restore()
    await asyncio.wait_for(database.wait_writable(), 5)
    await database.execute("INSERT INTO demo_notes (text) VALUES ('after')")
    assert await notes(path) == ["before", "after"]
    check = await database.fetchone("PRAGMA integrity_check")
    assert check is not None and check[0] == "ok"
    await database.close()


async def test_a_bulk_write_is_all_or_nothing_and_refused_whole_on_a_read_only_file(
        tmp_path: Path) -> None:
    from tests.integration.faults import ReadOnlyDatabase

    path = tmp_path / "bulk.db"
    database = Database(path, probe_seconds=0.05)
    await database.open()
    await database.migrate("demo", STEPS)
    insert = "INSERT INTO demo_notes (id, text) VALUES (?, ?)"
    await database.transaction_many([(insert, [(1, "one"), (2, "two")]), (insert, [])])
    with pytest.raises(sqlite3.IntegrityError):  # a clash in the second group undoes the first
        await database.transaction_many([(insert, [(3, "three")]), (insert, [(1, "again")])])
    assert await notes(path) == ["one", "two"]
    fault = ReadOnlyDatabase(path, database)
    await fault.apply()
    try:
        with pytest.raises(DatabaseUnwritable):
            await database.transaction_many([(insert, [(4, "four"), (5, "five")])])
        assert not database.writable
    finally:
        await fault.restore()
    await asyncio.wait_for(database.wait_writable(), 5)
    await database.transaction_many([(insert, [(4, "four")])])
    assert await notes(path) == ["one", "two", "four"]
    await database.close()


async def test_a_file_read_only_at_open_is_read_and_waited_for_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.integration.faults import ReadOnlyDatabase

    path = tmp_path / "restored.db"
    first = Database(path)
    await first.open()
    await first.migrate("demo", STEPS)
    await first.execute("INSERT INTO demo_notes (text) VALUES ('kept')")
    await first.close()
    fault = ReadOnlyDatabase(path)
    await fault.apply()
    try:
        # A tool (`solidarity status`) opens it, reads it, and is told it is unwritable.
        tool = Database(path, probe_seconds=0.05)
        with caplog.at_level("ERROR", logger="core.storage"):
            await tool.open()
        assert not tool.writable and any(str(path) in r.getMessage() for r in caplog.records)
        await tool.migrate("demo", STEPS)  # nothing pending: no write needed
        assert [r["text"] for r in await tool.fetchall("SELECT text FROM demo_notes")] == ["kept"]
        await tool.close()
        # The bot waits for it instead of failing (a supervisor would restart it in a loop).
        bot = Database(path, probe_seconds=0.05)
        opening = asyncio.create_task(bot.open(wait_writable=True))
        await asyncio.sleep(0.3)
        assert not opening.done()
    finally:
        await fault.restore()
    await asyncio.wait_for(opening, 5)
    await bot.execute("INSERT INTO demo_notes (text) VALUES ('new')")
    assert await notes(path) == ["kept", "new"]
    await bot.close()


async def test_other_errors_are_not_taken_for_an_unwritable_file(db: Database) -> None:
    await db.migrate("demo", STEPS)
    with pytest.raises(sqlite3.OperationalError) as raised:
        await db.execute("INSERT INTO no_such_table VALUES (1)")
    assert not isinstance(raised.value, DatabaseUnwritable)
    assert db.writable
    await db.execute("INSERT INTO demo_notes (text) VALUES ('fine')")
