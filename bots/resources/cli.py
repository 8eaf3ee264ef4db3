"""`solidarity resources import FILE` and `solidarity resources export`: the operator's bulk tools.

They open the bot's database (from the config, or `--db`) directly; SQLite's WAL lets them run
while the bot does, and the bot's searches see an import as soon as it commits.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from collections.abc import Callable
from pathlib import Path

from bots.resources.importer import CSV_COLUMNS, ImportFailed, export_yaml, import_file
from bots.resources.model import Resource
from bots.resources.store import Directory
from core.clock import Clock
from core.config import ConfigError, load_config
from core.storage import Database


def register(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """Add the `resources` subcommands to `parser`; returns the function that runs them."""
    actions = parser.add_subparsers(dest="resources_action", required=True)
    importing = actions.add_parser("import", help="add or update entries from a YAML or CSV file "
                                                  "(all or nothing)")
    importing.add_argument("file", type=Path)
    exporting = actions.add_parser("export", help="write every entry as YAML (or CSV)")
    exporting.add_argument("-o", "--output", type=Path, default=None, help="file (default: stdout)")
    exporting.add_argument("--format", choices=("yaml", "csv"), default=None,
                           help="default: from the output file's extension, else yaml")
    for sub in (importing, exporting):
        sub.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
        sub.add_argument("--db", type=Path, default=None,
                         help="the bot's database file (default: from the config's storage.data_dir)")
    return run


def run(args: argparse.Namespace) -> int:
    try:
        db_path = args.db or _database_path(args.config)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    if args.resources_action == "import":
        return asyncio.run(_import(db_path, args.file))
    return _export(db_path, args.output, args.format)


def _database_path(config_path: Path) -> Path:
    config = load_config(config_path)
    config.storage.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return config.storage.database


async def _open(db_path: Path) -> tuple[Database, Directory]:
    db = Database(db_path)
    await db.open()
    directory = Directory(db)
    await directory.setup()
    return db, directory


async def _import(db_path: Path, file: Path) -> int:
    db, directory = await _open(db_path)
    try:
        added, updated = await import_file(directory, file, Clock().now())
    except ImportFailed as failure:
        print(f"{file}: nothing was imported.", file=sys.stderr)
        for problem in failure.problems[:200]:
            print(f"  {problem}", file=sys.stderr)
        if len(failure.problems) > 200:
            print(f"  ... and {len(failure.problems) - 200} more", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(f"{file}: {added} added, {updated} updated.")
    return 0


async def _all(db_path: Path) -> list[Resource]:
    db, directory = await _open(db_path)
    try:
        return await directory.all()
    finally:
        await db.close()


def _export(db_path: Path, output: Path | None, form: str | None) -> int:
    resources = asyncio.run(_all(db_path))
    chosen = form or ("csv" if output is not None and output.suffix.lower() == ".csv" else "yaml")
    text = export_csv(resources) if chosen == "csv" else export_yaml(resources)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"{output}: {len(resources)} entries.", file=sys.stderr)
    return 0


def export_csv(resources: list[Resource]) -> str:
    """CSV with the import's columns; lists joined with `;`, translations as title.<lang>."""
    languages = sorted({tag for r in resources for tag in r.translations})
    header = [*CSV_COLUMNS, *(f"{field}.{tag}" for tag in languages for field in ("title", "summary"))]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for resource in resources:
        data = resource.model_dump(mode="json")
        row = []
        for column in CSV_COLUMNS:
            value = data.get(column)
            row.append(";".join(value) if isinstance(value, list) else "" if value is None else str(value))
        for tag in languages:
            translation = resource.translations.get(tag)
            row.append((translation.title or "") if translation else "")
            row.append((translation.summary or "") if translation else "")
        writer.writerow(row)
    return buffer.getvalue()
