"""The directory's tables and every SQL statement on them: entries, full-text index, search.

Entries keep their validated model as JSON plus the normalised text the FTS5 index reads
(external content, kept in step by triggers, so a write is one statement and cannot leave the
index half-updated; one update trigger, because SQLite runs separate triggers newest first and the
index must drop the old row before it takes the new one). A second FTS5 table holds the
vocabulary as trigrams for typo correction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bots.resources.countries import COUNTRIES, GLOBAL
from bots.resources.model import CATEGORY_NAMES, Resource, url_key
from bots.resources.terms import index_words, tag
from core.storage import Database, Migration

MIGRATIONS = [
    Migration(
        1,
        "directory entries, full-text index with triggers, vocabulary trigrams, suggestions",
        """
        CREATE TABLE resources_entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            url_key TEXT NOT NULL,
            data TEXT NOT NULL,
            status TEXT NOT NULL,
            countries TEXT NOT NULL,
            verified_ts REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            fts_title TEXT NOT NULL,
            fts_body TEXT NOT NULL,
            fts_tags TEXT NOT NULL);
        CREATE UNIQUE INDEX resources_entries_url ON resources_entries (url_key)
            WHERE status != 'removed';
        CREATE INDEX resources_entries_rank ON resources_entries (id, verified_ts, countries);
        CREATE VIRTUAL TABLE resources_fts USING fts5(
            fts_title, fts_body, fts_tags,
            content='resources_entries', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER resources_fts_insert AFTER INSERT ON resources_entries
            WHEN new.status != 'removed' BEGIN
            INSERT INTO resources_fts (rowid, fts_title, fts_body, fts_tags)
                VALUES (new.id, new.fts_title, new.fts_body, new.fts_tags);
        END;
        CREATE TRIGGER resources_fts_update AFTER UPDATE ON resources_entries BEGIN
            INSERT INTO resources_fts (resources_fts, rowid, fts_title, fts_body, fts_tags)
                SELECT 'delete', old.id, old.fts_title, old.fts_body, old.fts_tags
                WHERE old.status != 'removed';
            INSERT INTO resources_fts (rowid, fts_title, fts_body, fts_tags)
                SELECT new.id, new.fts_title, new.fts_body, new.fts_tags
                WHERE new.status != 'removed';
        END;
        CREATE TRIGGER resources_fts_delete AFTER DELETE ON resources_entries
            WHEN old.status != 'removed' BEGIN
            INSERT INTO resources_fts (resources_fts, rowid, fts_title, fts_body, fts_tags)
                VALUES ('delete', old.id, old.fts_title, old.fts_body, old.fts_tags);
        END;
        CREATE TABLE resources_vocabulary (
            id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
        CREATE VIRTUAL TABLE resources_trigrams USING fts5(term, tokenize='trigram');
        CREATE TRIGGER resources_vocabulary_added AFTER INSERT ON resources_vocabulary BEGIN
            INSERT INTO resources_trigrams (rowid, term) VALUES (new.id, new.term);
        END;
        CREATE TABLE resources_suggestions (
            event_id TEXT PRIMARY KEY,
            curators_room TEXT NOT NULL,
            url TEXT NOT NULL,
            note TEXT NOT NULL,
            suggested_by TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open',
            decided_by TEXT,
            resource_id INTEGER,
            created_at REAL NOT NULL)
        """,
    ),
    Migration(
        2,
        "drafts (approved suggestions) kept out of search; who changed which fields of an entry",
        # The three triggers must agree on which rows are indexed: an FTS5 'delete' of a row that
        # was never indexed corrupts the index. No row was a draft before this migration.
        """
        DROP TRIGGER resources_fts_insert;
        DROP TRIGGER resources_fts_update;
        DROP TRIGGER resources_fts_delete;
        CREATE TRIGGER resources_fts_insert AFTER INSERT ON resources_entries
            WHEN new.status NOT IN ('removed', 'draft') BEGIN
            INSERT INTO resources_fts (rowid, fts_title, fts_body, fts_tags)
                VALUES (new.id, new.fts_title, new.fts_body, new.fts_tags);
        END;
        CREATE TRIGGER resources_fts_update AFTER UPDATE ON resources_entries BEGIN
            INSERT INTO resources_fts (resources_fts, rowid, fts_title, fts_body, fts_tags)
                SELECT 'delete', old.id, old.fts_title, old.fts_body, old.fts_tags
                WHERE old.status NOT IN ('removed', 'draft');
            INSERT INTO resources_fts (rowid, fts_title, fts_body, fts_tags)
                SELECT new.id, new.fts_title, new.fts_body, new.fts_tags
                WHERE new.status NOT IN ('removed', 'draft');
        END;
        CREATE TRIGGER resources_fts_delete AFTER DELETE ON resources_entries
            WHEN old.status NOT IN ('removed', 'draft') BEGIN
            INSERT INTO resources_fts (resources_fts, rowid, fts_title, fts_body, fts_tags)
                VALUES ('delete', old.id, old.fts_title, old.fts_body, old.fts_tags);
        END;
        CREATE TABLE resources_changes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            resource_id INTEGER NOT NULL,
            changed_by TEXT NOT NULL,
            changed_at REAL NOT NULL,
            action TEXT NOT NULL,
            fields TEXT NOT NULL);
        CREATE INDEX resources_changes_recent ON resources_changes (changed_at);
        CREATE INDEX resources_changes_entry ON resources_changes (resource_id, changed_at)
        """,
    ),
    Migration(
        3,
        "suggestions keep nothing once decided (bots/resources/suggestions.py); open ones expire",
        # Open rows are sealed by the plugin at start (sealing needs the passphrase, not SQL).
        """
        DELETE FROM resources_suggestions WHERE state != 'open';
        CREATE INDEX resources_suggestions_age ON resources_suggestions (created_at)
        """,
    ),
]

Statement = tuple[str, Sequence[Any]]
# An entry's fields whose change clears its verification: where it points and what it is called
# (the summary and translations too: they can carry a phone number or another link).
VETTED_FIELDS = frozenset({"title", "url", "contact", "summary", "translations"})
COMPARED_FIELDS = ("title", "summary", "translations", "url", "contact", "categories", "countries",
                   "languages", "status")


@dataclass(frozen=True)
class Change:
    """Who did what to an entry, and which fields it touched (no old or new values are kept)."""

    by: str
    action: str  # add, draft, edit, verify, remove, import
    fields: tuple[str, ...] = ()
    resource_id: int | None = None
    at: float = 0.0


def changed_fields(before: Resource, after: Resource) -> tuple[str, ...]:
    """The fields an edit changed, in a fixed order."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return tuple(name for name in COMPARED_FIELDS if old.get(name) != new.get(name))



class DuplicateUrl(Exception):
    """An active entry already has this URL."""

    def __init__(self, existing_id: int) -> None:
        super().__init__(f"already in the directory as #{existing_id}")
        self.existing_id = existing_id


class Directory:
    """The resource directory over the plugin's tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def setup(self) -> None:
        await self.db.migrate("resources", MIGRATIONS)

    # -- writes -------------------------------------------------------------

    def write_statements(self, resource: Resource, now: float) -> list[Statement]:
        """Insert (no id) or replace (id) one entry, with its vocabulary; for db.transaction."""
        data = resource.model_dump(mode="json", exclude={"id"})
        title_texts = [resource.title, *(t.title or "" for t in resource.translations.values())]
        body_texts = [
            resource.summary,
            *(t.summary or "" for t in resource.translations.values()),
            resource.contact or "",
            *(name for category in resource.categories for name in CATEGORY_NAMES[category]),
        ]
        title_words = index_words(title_texts)
        body_words = index_words(body_texts)
        tags = (
            [tag("c", country) for country in resource.countries]
            + [tag("k", category.value) for category in resource.categories]
            + [tag("l", language.split("-", 1)[0]) for language in resource.languages]
        )
        verified_ts = (
            dt.datetime.combine(resource.verified_at, dt.time(), dt.UTC).timestamp()
            if resource.verified_at else None
        )
        values = (
            url_key(resource.url), json.dumps(data, ensure_ascii=False), resource.status,
            "," + ",".join(resource.countries) + ",", verified_ts,
            " ".join(title_words), " ".join(body_words), " ".join(tags),
        )
        statements: list[Statement]
        if resource.id is None:
            statements = [(
                "INSERT INTO resources_entries (url_key, data, status, countries, verified_ts,"
                " fts_title, fts_body, fts_tags, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, now, now),
            )]
        else:
            statements = [(
                "UPDATE resources_entries SET url_key = ?, data = ?, status = ?, countries = ?,"
                " verified_ts = ?, fts_title = ?, fts_body = ?, fts_tags = ?, updated_at = ?"
                " WHERE id = ?",
                (*values, now, resource.id),
            )]
        # A draft's words stay out of the typo-correction vocabulary until it is verified.
        words = set() if resource.status == "draft" else set(title_words) | set(body_words)
        for word in sorted(words):
            statements.append(("INSERT OR IGNORE INTO resources_vocabulary (term) VALUES (?)", (word,)))
        return statements

    async def write_many(self, resources: list[Resource], now: float, by: str = "import") -> None:
        """Write many validated entries in one transaction (bulk import).

        Equal statements are grouped (Database.transaction_many): for 100,000 rows that is ~20x
        faster than one awaited statement each. Updates run first so a URL moved away is free
        for an insert.
        """
        inserts: list[Sequence[Any]] = []
        updates: list[Sequence[Any]] = []
        vocabulary: set[str] = set()
        insert_sql = update_sql = ""
        for resource in resources:
            for sql, params in self.write_statements(resource, now):
                if sql.startswith("INSERT OR IGNORE INTO resources_vocabulary"):
                    vocabulary.add(params[0])
                elif sql.startswith("INSERT"):
                    insert_sql = sql
                    inserts.append(params)
                else:
                    update_sql = sql
                    updates.append(params)
        history = [self.change_statement(Change(by, "import"), now, resource)
                   for resource in resources]
        await self.db.transaction_many([
            (update_sql, updates),
            (insert_sql, inserts),
            ("INSERT OR IGNORE INTO resources_vocabulary (term) VALUES (?)",
             [(word,) for word in sorted(vocabulary)]),
            *((sql, [params for text, params in history if text == sql])
              for sql in sorted({sql for sql, _ in history})),
        ])

    def change_statement(self, change: Change, now: float, resource: Resource) -> Statement:
        """The history row of `change` to `resource` (a new one is found by its URL)."""
        fields = ",".join(change.fields)
        if resource.id is not None:
            return (
                "INSERT INTO resources_changes (resource_id, changed_by, changed_at, action, fields)"
                " VALUES (?, ?, ?, ?, ?)",
                (resource.id, change.by, now, change.action, fields),
            )
        return (
            "INSERT INTO resources_changes (resource_id, changed_by, changed_at, action, fields)"
            " SELECT id, ?, ?, ?, ? FROM resources_entries WHERE url_key = ? AND status != 'removed'",
            (change.by, now, change.action, fields, url_key(resource.url)),
        )

    async def add(self, resource: Resource, now: float, change: Change | None = None) -> int:
        """Store a new entry (and its history row); raises DuplicateUrl when its URL is listed."""
        existing = await self.id_for_url(resource.url)
        if existing is not None:
            raise DuplicateUrl(existing)
        new = resource.model_copy(update={"id": None})
        statements = self.write_statements(new, now)
        if change is not None:
            statements.append(self.change_statement(change, now, new))
        await self.db.transaction(statements)
        new_id = await self.id_for_url(resource.url)
        assert new_id is not None
        return new_id

    async def save(self, resource: Resource, now: float, change: Change | None = None) -> None:
        """Replace an existing entry (edit, verify, remove, stale) and record the change."""
        assert resource.id is not None
        existing = await self.id_for_url(resource.url)
        if existing is not None and existing != resource.id and resource.status != "removed":
            raise DuplicateUrl(existing)
        statements = self.write_statements(resource, now)
        if change is not None:
            statements.append(self.change_statement(change, now, resource))
        await self.db.transaction(statements)

    async def changes(self, *, resource_id: int | None = None, limit: int = 20) -> list[Change]:
        """The latest changes, newest first (of one entry, or of the whole directory)."""
        rows = await self.db.fetchall(
            "SELECT resource_id, changed_by, changed_at, action, fields FROM resources_changes"
            " WHERE ? IS NULL OR resource_id = ? ORDER BY changed_at DESC, id DESC LIMIT ?",
            (resource_id, resource_id, limit),
        )
        return [
            Change(row["changed_by"], row["action"],
                   tuple(name for name in str(row["fields"]).split(",") if name),
                   int(row["resource_id"]), float(row["changed_at"]))
            for row in rows
        ]

    async def id_for_url(self, url: str) -> int | None:
        row = await self.db.fetchone(
            "SELECT id FROM resources_entries WHERE url_key = ? AND status != 'removed'",
            (url_key(url),),
        )
        return int(row["id"]) if row else None

    # -- reads --------------------------------------------------------------

    async def get(self, resource_id: int) -> Resource | None:
        row = await self.db.fetchone(
            "SELECT id, data FROM resources_entries WHERE id = ?", (resource_id,)
        )
        return resource_from_row(row) if row else None

    async def all(self, *, include_removed: bool = False) -> list[Resource]:
        rows = await self.db.fetchall(
            "SELECT id, data FROM resources_entries WHERE ? OR status != 'removed' ORDER BY id",
            (int(include_removed),),
        )
        return [resource_from_row(row) for row in rows]

    async def existing_ids(self) -> set[int]:
        rows = await self.db.fetchall("SELECT id FROM resources_entries")
        return {int(row["id"]) for row in rows}

    async def url_keys(self) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT id, url_key FROM resources_entries WHERE status != 'removed'"
        )
        return {row["url_key"]: int(row["id"]) for row in rows}

    async def stale(self, today: dt.date, stale_after_days: int) -> list[Resource]:
        limit = dt.datetime.combine(today - dt.timedelta(days=stale_after_days), dt.time(), dt.UTC)
        rows = await self.db.fetchall(
            "SELECT id, data FROM resources_entries WHERE status IN ('stale', 'draft')"
            " OR (status = 'active' AND (verified_ts IS NULL OR verified_ts < ?))"
            " ORDER BY COALESCE(verified_ts, 0), id",
            (limit.timestamp(),),
        )
        return [resource_from_row(row) for row in rows]

    async def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """How many listed entries (not drafts) each category and each country has."""
        categories: dict[str, int] = {}
        countries: dict[str, int] = {}
        for resource in await self.all():
            if resource.status == "draft":
                continue
            for category in resource.categories:
                categories[category.value] = categories.get(category.value, 0) + 1
            for country in resource.countries:
                countries[country] = countries.get(country, 0) + 1
        return categories, countries


def resource_from_row(row: Any) -> Resource:
    return Resource.model_validate({**json.loads(row["data"]), "id": int(row["id"])})


def country_name(code: str, language: str) -> str:
    if code == GLOBAL:
        return "global" if language != "ar" else "عالمي"
    english, arabic = COUNTRIES.get(code, (code, code))
    return arabic if language == "ar" else english
