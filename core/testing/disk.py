"""Reading a bot's database the way someone holding a seized disk would.

Plugins seal what would expose people (core.sealed); these helpers check it
from outside the bot: every text cell of every table read with the plain
`sqlite3` module (write-ahead log included), and the files' raw bytes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def raw_cells(path: Path, table: str | None = None) -> list[str]:
    """Every text value of every table (or of one), read straight from the file (WAL included)."""
    connection = sqlite3.connect(path)
    try:
        tables = [table] if table else [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        cells: list[str] = []
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):  # table names from the schema
                cells += [value for value in row if isinstance(value, str)]
        return cells
    finally:
        connection.close()


def raw_bytes(path: Path) -> bytes:
    """The database file and its -wal and -shm companions, as bytes."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def assert_absent(path: Path, *texts: str) -> None:
    """None of `texts`, nor any of their words of five letters or more, can be read on disk."""
    cells = raw_cells(path)
    blob = raw_bytes(path)
    for text in texts:
        assert not any(text in cell for cell in cells), f"{text!r} readable in a table"
        for word in [w for w in text.split() if len(w) >= 5]:  # its words, not only the sentence
            assert not any(word in cell for cell in cells), f"{word!r} readable in a table"
        assert text.encode() not in blob, f"{text!r} readable in the file"
