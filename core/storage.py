"""The bot's one SQLite database (WAL) and numbered, described migrations."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable, Sequence
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


class Database:
    """A thin async wrapper over one aiosqlite connection.

    One connection serialises writes, which is what SQLite wants; WAL lets the
    file be read by tools while the bot runs.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._conn: aiosqlite.Connection | None = None
        # One connection is shared by every task: a write from one task must
        # not land inside (or be rolled back with) another task's transaction.
        self._writing = asyncio.Lock()

    async def open(self) -> None:
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (a member's data when they leave, a sealed value's old
        # plain text) are overwritten on disk, not left in free pages.
        await self._conn.execute("PRAGMA secure_delete=ON")
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " owner TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_history ("
            " owner TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
            " PRIMARY KEY (owner, version))"
        )

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of changed rows."""
        async with self._writing:
            cursor = await self.conn.execute(sql, params)
            changed = cursor.rowcount
            await cursor.close()
        return changed

    async def execute_returning(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Run one writing statement with a RETURNING clause; returns its rows."""
        async with self._writing, self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def transaction(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Run statements all-or-nothing."""
        async with self._writing:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    await self.conn.execute(sql, params)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

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
            async with self._writing:
                await self._apply(owner, migration)

    async def _apply(self, owner: str, migration: Migration) -> None:
        await self.conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(migration.sql):
                await self.conn.execute(statement)
            await self.conn.execute(
                "INSERT INTO schema_version (owner, version) VALUES (?, ?) "
                "ON CONFLICT(owner) DO UPDATE SET version = excluded.version",
                (owner, migration.version),
            )
            await self.conn.execute(
                "INSERT INTO schema_history (owner, version, description) VALUES (?, ?, ?)",
                (owner, migration.version, migration.description),
            )
        except BaseException as exc:
            await self.conn.execute("ROLLBACK")
            if not isinstance(exc, Exception):
                raise  # cancellation stays cancellation
            raise MigrationError(
                f"{owner} migration {migration.version} ({migration.description}) failed: {exc}"
            ) from exc
        await self.conn.execute("COMMIT")
        log.info("applied migration %s %d: %s", owner, migration.version, migration.description)


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
