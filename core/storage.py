"""The bot's one SQLite database (WAL) and numbered, described migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    """One schema step: `version` counts up from 1 within its owner."""

    version: int
    description: str
    sql: str


class MigrationError(Exception):
    """A migration list is malformed or a step failed (nothing of it was applied)."""


class DatabaseUnwritable(sqlite3.OperationalError):
    """The database file cannot be written now (read-only, full disk, I/O error).

    A subclass of sqlite3.OperationalError, so code that already handled
    SQLite's own error handles this one. The write did not happen, in part or
    in whole; the operator was told once (see `Database`).
    """


# Primary SQLite result codes that mean "the file cannot take writes", not
# "this statement is wrong": SQLITE_PERM, READONLY, IOERR, FULL, CANTOPEN.
_UNWRITABLE_CODES = frozenset({3, 8, 10, 13, 14})
_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED


def _is_unwritable(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and isinstance(code, int) \
        and code & 0xFF in _UNWRITABLE_CODES


_PROBE = (
    "CREATE TABLE IF NOT EXISTS storage_probe (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "at REAL NOT NULL)",
    "INSERT INTO storage_probe (id, at) VALUES (1, ?) "
    "ON CONFLICT(id) DO UPDATE SET at = excluded.at",
)


class Database:
    """A thin async wrapper over one aiosqlite connection.

    One connection serialises writes, which is what SQLite wants; WAL lets the
    file be read by tools while the bot runs.

    When the file stops taking writes (made read-only, the disk full or
    remounted read-only), the first failed write logs one operator error
    naming the file and what to do, and every write after it is refused with
    `DatabaseUnwritable` without touching the file, so nothing is half
    written. Reads go on. A fresh connection tries a real write every
    `probe_seconds`; once one succeeds it replaces the old connection (SQLite
    keeps a file it opened read-only read-only for good) and `wait_writable`
    returns: the scheduler, the outbox and the bot's event intake wait on it
    instead of failing in a loop.
    """

    def __init__(self, path: Path | str, *, probe_seconds: float = 5.0) -> None:
        self.path = str(path)
        self.probe_seconds = probe_seconds
        self._conn: aiosqlite.Connection | None = None
        # One connection is shared by every task: a write from one task must
        # not land inside (or be rolled back with) another task's transaction.
        self._writing = asyncio.Lock()
        self._writable = asyncio.Event()
        self._writable.set()
        self._probe: asyncio.Task[None] | None = None
        # Connections replaced after an outage, closed a moment later.
        self._retiring: set[asyncio.Task[None]] = set()
        # Why and since when writes are refused (None while they are not).
        self.unwritable_reason: str | None = None
        self.unwritable_since: float | None = None
        # Writes refused while the file could not be written (operators, tests).
        self.refused_writes = 0

    async def open(self, *, wait_writable: bool = False) -> None:
        """Open the file; with `wait_writable`, wait (probing) until it takes writes.

        The bot waits: a data folder restored with the wrong owner is one log
        line and a bot that starts once it is fixed, not a crash loop. Tools
        (`solidarity status`) do not wait; they read, and say it is unwritable.
        """
        self._conn = await self._connect()
        if await self._missing("schema_version"):
            await self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " owner TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        if await self._missing("schema_history"):
            await self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_history ("
                " owner TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,"
                " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
                " PRIMARY KEY (owner, version))"
            )
        try:
            await _probe_write(self._conn)
        except sqlite3.Error as exc:
            if _is_unwritable(exc):
                self._went_unwritable(exc)
            elif getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _BUSY_CODES:
                raise
            # Busy: another process (the running bot) is writing it, so it takes writes.
        if wait_writable:
            await self.wait_writable()

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            # Deleted rows (a member's data when they leave, a sealed value's old
            # plain text) are overwritten on disk, not left in free pages.
            await conn.execute("PRAGMA secure_delete=ON")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _missing(self, table: str) -> bool:
        # Creating a table that exists is no write, but SQLite refuses the
        # statement on a read-only file anyway; so it is only run when needed.
        async with self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                (table,)) as cursor:
            return await cursor.fetchone() is None

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
            self._probe = None
        for task in list(self._retiring):
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    # -- a file that stops taking writes ----------------------------------

    @property
    def writable(self) -> bool:
        return self._writable.is_set()

    async def wait_writable(self) -> None:
        await self._writable.wait()

    def _went_unwritable(self, exc: BaseException) -> None:
        if not self._writable.is_set():
            return
        self._writable.clear()
        name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
        self.unwritable_reason = str(name)
        self.unwritable_since = time.time()
        folder = os.path.dirname(os.path.abspath(self.path))
        # Once per incident, however many writes fail: the operator needs one
        # clear line, not a traceback per event. SQLite's error name only:
        # its message could quote a statement.
        log.error(
            "the database %s cannot be written (%s). Nothing is half-written: the bot holds "
            "new commands, timers and sends until it can write again, and keeps syncing. "
            "Make the file, its -wal and -shm files and the folder %s writable by this user "
            "(uid %d), and check that the disk is not full or mounted read-only; the bot "
            "checks every %.0f s and resumes by itself, no restart needed",
            self.path, name, folder, os.geteuid(), self.probe_seconds)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(
                self._probe_until_writable(), name="storage-probe")

    async def _probe_until_writable(self) -> None:
        while True:
            await asyncio.sleep(self.probe_seconds)
            try:
                fresh = await self._connect()
            except sqlite3.Error:
                continue  # not even readable yet; the old connection still serves reads
            try:
                await _probe_write(fresh)
            except sqlite3.Error as exc:
                await fresh.close()
                if not _is_unwritable(exc):
                    log.warning("database probe failed: %s", type(exc).__name__)
                continue
            async with self._writing:
                old, self._conn = self._conn, fresh
            seconds = time.time() - (self.unwritable_since or time.time())
            log.warning("the database %s can be written again (after %.0f s, %d writes "
                        "refused); held work resumes", self.path, seconds, self.refused_writes)
            self.unwritable_reason = None
            self.unwritable_since = None
            self._writable.set()
            if old is not None:
                self._retire(old)
            return

    def _retire(self, old: aiosqlite.Connection) -> None:
        async def close_later() -> None:
            try:
                await asyncio.sleep(1.0)  # a read already handed to it finishes first
            finally:
                with contextlib.suppress(sqlite3.Error, ValueError):
                    await old.close()

        task = asyncio.get_running_loop().create_task(close_later())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for one write (or transaction), under the write lock."""
        async with self._writing:
            if not self._writable.is_set():
                self.refused_writes += 1
                raise DatabaseUnwritable(
                    f"the database {self.path} cannot be written ({self.unwritable_reason})")
            try:
                yield self.conn
            except sqlite3.Error as exc:
                if not _is_unwritable(exc) or isinstance(exc, DatabaseUnwritable):
                    raise
                self._went_unwritable(exc)
                raise DatabaseUnwritable(
                    f"the database {self.path} cannot be written ({self.unwritable_reason})"
                ) from exc

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of changed rows."""
        async with self._write() as conn:
            cursor = await conn.execute(sql, params)
            changed = cursor.rowcount
            await cursor.close()
        return changed

    async def execute_returning(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Run one writing statement with a RETURNING clause; returns its rows."""
        async with self._write() as conn, conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def transaction(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Run statements all-or-nothing."""
        async with self._all_or_nothing() as conn:
            for sql, params in statements:
                await conn.execute(sql, params)

    async def transaction_many(
            self, groups: Iterable[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        """Run each statement over its rows (executemany), all-or-nothing: for bulk writes.

        One statement over 100,000 rows is ~20x faster than 100,000 awaited
        statements; it holds the write lock and fails like `transaction`.
        """
        async with self._all_or_nothing() as conn:
            for sql, rows in groups:
                if rows:
                    await conn.executemany(sql, rows)

    @contextlib.asynccontextmanager
    async def _all_or_nothing(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction under the write lock: committed if the block ends, else rolled back."""
        async with self._write() as conn:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                await conn.execute("COMMIT")
            except BaseException:
                await _rollback(conn)
                raise

    async def schema_version(self, owner: str) -> int:
        row = await self.fetchone("SELECT version FROM schema_version WHERE owner = ?", (owner,))
        return int(row["version"]) if row else 0

    async def migrate(self, owner: str, migrations: Sequence[Migration]) -> None:
        """Apply the owner's pending migrations, each in its own transaction."""
        versions = [m.version for m in migrations]
        if versions != list(range(1, len(migrations) + 1)):
            raise MigrationError(f"{owner}: migrations must be numbered 1, 2, 3, ... in order")
        current = await self.schema_version(owner)
        if current > len(migrations):
            raise MigrationError(
                f"{owner}: database is at version {current}, newer than this code "
                f"({len(migrations)}); upgrade Solidarity"
            )
        for migration in migrations[current:]:
            async with self._write() as conn:
                await self._apply(conn, owner, migration)

    async def _apply(self, conn: aiosqlite.Connection, owner: str, migration: Migration) -> None:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(migration.sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (owner, version) VALUES (?, ?) "
                "ON CONFLICT(owner) DO UPDATE SET version = excluded.version",
                (owner, migration.version),
            )
            await conn.execute(
                "INSERT INTO schema_history (owner, version, description) VALUES (?, ?, ?)",
                (owner, migration.version, migration.description),
            )
            await conn.execute("COMMIT")
        except BaseException as exc:
            await _rollback(conn)
            if not isinstance(exc, Exception) or _is_unwritable(exc):
                raise  # cancellation stays cancellation; an unwritable file is no bad step
            raise MigrationError(
                f"{owner} migration {migration.version} ({migration.description}) failed: {exc}"
            ) from exc
        log.info("applied migration %s %d: %s", owner, migration.version, migration.description)


async def _rollback(conn: aiosqlite.Connection) -> None:
    # A failed COMMIT (the disk refused the write) may already have ended the
    # transaction; the error that got here is the one worth raising.
    with contextlib.suppress(sqlite3.OperationalError):
        await conn.execute("ROLLBACK")


async def _probe_write(conn: aiosqlite.Connection) -> None:
    """A real, committed write of one row: what proves the file takes writes."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await conn.execute(_PROBE[0])
        await conn.execute(_PROBE[1], (time.time(),))
        await conn.execute("COMMIT")
    except BaseException:
        await _rollback(conn)
        raise


def _statements(sql: str) -> list[str]:
    # executescript would commit implicitly, breaking the per-migration
    # transaction, so statements are run one by one. A `;` inside a string
    # literal or a trigger body does not end a statement.
    statements: list[str] = []
    buffer = ""
    for part in sql.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \t\r\n;"):
        statements.append(buffer.strip())
    return statements


CORE_MIGRATIONS = [
    Migration(
        1,
        "sync token, handled events, room settings, member languages, scheduler jobs",
        """
        CREATE TABLE core_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE core_handled_events (
            event_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, handled_at REAL NOT NULL);
        CREATE INDEX core_handled_events_at ON core_handled_events (handled_at);
        CREATE TABLE core_room_plugins (
            room_id TEXT NOT NULL, plugin TEXT NOT NULL, enabled INTEGER NOT NULL,
            PRIMARY KEY (room_id, plugin));
        CREATE TABLE core_room_settings (
            room_id TEXT NOT NULL, plugin TEXT NOT NULL, key TEXT NOT NULL,
            value TEXT NOT NULL, PRIMARY KEY (room_id, plugin, key));
        CREATE TABLE core_languages (
            scope TEXT NOT NULL, id TEXT NOT NULL, language TEXT NOT NULL,
            PRIMARY KEY (scope, id));
        CREATE TABLE core_jobs (
            id TEXT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL,
            due_at REAL NOT NULL, payload TEXT NOT NULL, created_at REAL NOT NULL);
        CREATE INDEX core_jobs_due ON core_jobs (due_at);
        CREATE TABLE core_undecrypted (
            event_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, session_id TEXT NOT NULL,
            source TEXT NOT NULL, first_seen REAL NOT NULL, notified INTEGER NOT NULL DEFAULT 0)
        """,
    ),
    Migration(
        2,
        "outbox of durable sends, DM rooms of members",
        """
        CREATE TABLE core_outbox (
            owner TEXT NOT NULL, key TEXT NOT NULL,
            room_id TEXT, user_id TEXT, event_type TEXT NOT NULL, content TEXT NOT NULL,
            txn_id TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
            next_attempt_at REAL NOT NULL, created_at REAL NOT NULL,
            event_id TEXT, error TEXT, delivered_to TEXT,
            PRIMARY KEY (owner, key));
        CREATE INDEX core_outbox_due ON core_outbox (state, next_attempt_at);
        CREATE TABLE core_dm_rooms (
            user_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, created_at REAL NOT NULL)
        """,
    ),
    Migration(
        3,
        "outbox priority: safety messages before bulk sends",
        "ALTER TABLE core_outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
    ),
    Migration(
        4,
        "members held for sensitive plugins after their identity changed",
        "CREATE TABLE core_identity_holds (user_id TEXT PRIMARY KEY, since REAL NOT NULL)",
    ),
    Migration(
        5,
        "scheduler retries, dead letters and recurring jobs",
        """
        ALTER TABLE core_jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE core_jobs ADD COLUMN state TEXT NOT NULL DEFAULT 'pending';
        ALTER TABLE core_jobs ADD COLUMN last_error TEXT;
        ALTER TABLE core_jobs ADD COLUMN every REAL;
        """,
    ),
]
