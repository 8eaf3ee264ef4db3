"""Bulk import and export of the directory (YAML or CSV), all-or-nothing with line numbers.

Every row is validated before anything is written; one bad row means nothing is stored and the
answer names each bad line. Rows with an `id` replace that entry (so export → edit → import works);
rows without one are new, and their URL must not already be listed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bots.resources.fields import TRANSLATABLE, to_model_data
from bots.resources.model import Resource, describe_errors, language_tag, url_key
from bots.resources.store import Directory

MAX_FILE_BYTES = 200 * 1024 * 1024
CSV_COLUMNS = (
    "id", "title", "summary", "url", "contact", "categories", "countries", "languages",
    "verified_at", "verified_by", "status",
)


class ImportFailed(Exception):
    """The file cannot be imported; `problems` are lines like `line 7: url: ...`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, raw row) for each entry of a .yaml/.yml or .csv file."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportFailed([f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"])
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFailed([f"{path}: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFailed([
            f"line {line}: the file is not UTF-8 text; save it as UTF-8 (in a spreadsheet: "
            "'CSV UTF-8') and import again"
        ]) from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return yaml_rows(text)
    if suffix == ".csv":
        return csv_rows(text)
    raise ImportFailed([f"{path}: use a .yaml, .yml or .csv file"])


def yaml_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "the file"
        problem = getattr(exc, "problem", None) or "is not valid YAML"
        raise ImportFailed([f"{where}: {problem}"]) from None
    if root is None:
        return []
    nodes: Any = root
    if isinstance(data, dict) and isinstance(root, yaml.MappingNode):
        if set(data) != {"resources"}:
            raise ImportFailed(["line 1: expected a list of entries, or `resources:` with a list"])
        data = data["resources"] or []
        nodes = next(value for key, value in root.value if key.value == "resources")
    if not isinstance(data, list) or not isinstance(nodes, yaml.SequenceNode):
        raise ImportFailed(["line 1: expected a list of entries, or `resources:` with a list"])
    rows = []
    for node, item in zip(nodes.value, data, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(item, dict):
            raise ImportFailed([f"line {line}: each entry must be a mapping of fields"])
        rows.append((line, item))
    return rows


def csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return []
    except csv.Error as exc:
        raise ImportFailed([f"line 1: {exc}"]) from None
    unknown = [name for name in header if name not in CSV_COLUMNS and not _translation_column(name)]
    missing = [name for name in ("title", "url", "categories", "countries", "languages")
               if name not in header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if unknown or missing or duplicated:
        problems = []
        if unknown:
            problems.append(f"line 1: unknown columns {', '.join(unknown)}")
        if missing:
            problems.append(f"line 1: missing columns {', '.join(missing)}")
        if duplicated:
            problems.append(f"line 1: repeated columns {', '.join(duplicated)}")
        problems.append(
            f"columns are {', '.join(CSV_COLUMNS)}, plus title.<lang> and summary.<lang>"
        )
        raise ImportFailed(problems)
    rows = []
    line = reader.line_num
    try:
        for record in reader:
            start = line + 1
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise ImportFailed([
                    f"line {start}: {len(record)} values for {len(header)} columns"
                ])
            rows.append((start, dict(zip(header, record, strict=True))))
    except csv.Error as exc:
        raise ImportFailed([f"line {reader.line_num}: {exc}"]) from None
    return rows


def _translation_column(name: str) -> bool:
    field, _, language = name.partition(".")
    return field in TRANSLATABLE and bool(language) and language_tag(language) is not None


def validate_rows(
    rows: list[tuple[int, dict[str, Any]]], existing: dict[str, int], ids: set[int]
) -> list[Resource]:
    """Every row as a Resource, or ImportFailed naming every bad line."""
    problems: list[str] = []
    resources: list[Resource] = []
    seen_urls: dict[str, int] = {}
    seen_ids: dict[int, int] = {}
    for line, row in rows:
        flat = {str(key): _cell(value) for key, value in row.items() if key != "translations"}
        base = {"translations": row["translations"]} if "translations" in row else {}
        try:
            data = to_model_data(flat, base)
            if data.get("id") in ("", None):
                data.pop("id", None)
            resource = Resource.model_validate(data)
        except ValidationError as exc:
            problems.extend(f"line {line}: {problem}" for problem in describe_errors(exc))
            continue
        key = url_key(resource.url)
        if key in seen_urls:
            problems.append(f"line {line}: same URL as line {seen_urls[key]}")
            continue
        seen_urls[key] = line
        if resource.id is not None:
            if resource.id in seen_ids:
                problems.append(f"line {line}: id {resource.id} is also on line {seen_ids[resource.id]}")
                continue
            seen_ids[resource.id] = line
            if resource.id not in ids:
                problems.append(f"line {line}: there is no entry #{resource.id} to update")
                continue
            other = existing.get(key)
            if other is not None and other != resource.id:
                problems.append(f"line {line}: this URL is already entry #{other}")
                continue
        elif key in existing:
            problems.append(
                f"line {line}: this URL is already entry #{existing[key]} (add id: {existing[key]} "
                "to update it)"
            )
            continue
        resources.append(resource)
    if problems:
        raise ImportFailed(problems)
    return resources


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value if value else None
    return value


async def import_file(directory: Directory, path: Path, now: float) -> tuple[int, int]:
    """Validate the whole file, then write it in one transaction; returns (added, updated)."""
    rows = read_rows(path)
    if not rows:
        raise ImportFailed([f"{path}: no entries"])
    resources = validate_rows(rows, await directory.url_keys(), await directory.existing_ids())
    await directory.write_many(resources, now)
    updated = sum(1 for resource in resources if resource.id is not None)
    return len(resources) - updated, updated


def export_yaml(resources: list[Resource]) -> str:
    """The directory as YAML that `import` reads back (ids included, so rows update)."""
    items = []
    for resource in resources:
        data = resource.model_dump(mode="json", exclude_none=True)
        if not data.get("translations"):
            data.pop("translations", None)
        items.append(data)
    header = f"# Solidarity resource directory, exported {dt.date.today().isoformat()}\n"
    return header + yaml.safe_dump({"resources": items}, allow_unicode=True, sort_keys=False)
