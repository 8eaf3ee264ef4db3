"""Bulk import/export: all-or-nothing, line numbers, duplicates, CSV columns and encodings, CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bots.resources.importer import ImportFailed, import_file
from bots.resources.store import Directory
from core.cli import main
from core.storage import Database

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_790_000_000.0

GOOD_YAML = """\
resources:
  - title: Crisis line
    url: https://crisis.example.org
    categories: [emergency]
    countries: [global]
    languages: [en, ar]
    translations:
      ar: {title: خط الأزمات}
  - title: Legal aid
    url: https://legal.example.org
    categories: legal, asylum
    countries: TR
    languages: en
"""


@pytest.fixture
async def directory(tmp_path: Path) -> AsyncIterator[Directory]:
    db = Database(tmp_path / "resources.db")
    await db.open()
    directory = Directory(db)
    await directory.setup()
    yield directory
    await db.close()


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


async def count(directory: Directory) -> int:
    return len(await directory.all(include_removed=True))


async def test_yaml_import(directory: Directory, tmp_path: Path) -> None:
    added, updated = await import_file(directory, write(tmp_path, "a.yaml", GOOD_YAML), NOW)
    assert (added, updated) == (2, 0)
    titles = {r.title: r for r in await directory.all()}
    assert titles["Crisis line"].translations["ar"].title == "خط الأزمات"
    assert [c.value for c in titles["Legal aid"].categories] == ["legal", "asylum"]


async def test_bad_row_changes_nothing_and_names_the_line(directory: Directory, tmp_path: Path) -> None:
    await import_file(directory, write(tmp_path, "a.yaml", GOOD_YAML), NOW)
    before = await directory.all()
    bad = GOOD_YAML.replace("legal.example.org", "other.example.org") + """\
  - title: Broken
    url: not a url
    categories: [legal]
    countries: [XX]
    languages: [en]
"""
    bad = bad.replace("crisis.example.org", "crisis2.example.org")
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "b.yaml", bad), NOW)
    problems = caught.value.problems
    assert any(p.startswith("line 14: url:") for p in problems), problems
    assert any(p.startswith("line 14: countries:") for p in problems), problems
    assert await directory.all() == before


async def test_duplicates_in_file_and_in_directory(directory: Directory, tmp_path: Path) -> None:
    twice = GOOD_YAML + """\
  - title: Crisis again
    url: https://www.crisis.example.org/
    categories: [emergency]
    countries: [global]
    languages: [en]
"""
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "a.yaml", twice), NOW)
    assert caught.value.problems == ["line 14: same URL as line 2"]
    assert await count(directory) == 0
    await import_file(directory, write(tmp_path, "b.yaml", GOOD_YAML), NOW)
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "c.yaml", GOOD_YAML), NOW)
    assert "line 2: this URL is already entry #1" in caught.value.problems[0]
    assert await count(directory) == 2


async def test_rows_with_ids_update(directory: Directory, tmp_path: Path) -> None:
    await import_file(directory, write(tmp_path, "a.yaml", GOOD_YAML), NOW)
    update = """\
- id: 2
  title: Legal aid Istanbul
  url: https://legal.example.org
  categories: [legal]
  countries: [TR]
  languages: [en]
- id: 7
  title: Nobody
  url: https://nobody.example.org
  categories: [legal]
  countries: [TR]
  languages: [en]
"""
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "u.yaml", update), NOW)
    assert caught.value.problems == ["line 7: there is no entry #7 to update"]
    added, updated = await import_file(
        directory, write(tmp_path, "u2.yaml", update.split("- id: 7")[0]), NOW
    )
    assert (added, updated) == (0, 1)
    assert (await directory.get(2)).title == "Legal aid Istanbul"  # type: ignore[union-attr]


async def test_csv_import_and_its_errors(directory: Directory, tmp_path: Path) -> None:
    good = (
        "title,url,categories,countries,languages,summary,title.ar\n"
        'Crisis line,https://crisis.example.org,emergency,global,"en;ar",Talk now,خط الأزمات\n'
        "\n"
        "Legal aid,https://legal.example.org,legal;asylum,TR,en,,\n"
    )
    assert await import_file(directory, write(tmp_path, "a.csv", good), NOW) == (2, 0)
    wrong_columns = "title,link,categories\nX,https://x.example.org,legal\n"
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "b.csv", wrong_columns), NOW)
    assert "unknown columns link" in caught.value.problems[0]
    assert "missing columns url, countries, languages" in caught.value.problems[1]
    bad_row = (
        "title,url,categories,countries,languages\n"
        "Fine,https://fine.example.org,legal,TR,en\n"
        "Bad,https://bad.example.org,legall,TR,en\n"
    )
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "c.csv", bad_row), NOW)
    assert caught.value.problems[0].startswith("line 3: categories: unknown category 'legall'")
    assert "did you mean legal" in caught.value.problems[0]
    short = "title,url,categories,countries,languages\nX,https://x.example.org,legal\n"
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "d.csv", short), NOW)
    assert caught.value.problems == ["line 2: 3 values for 5 columns"]
    cp1256 = "title,url,categories,countries,languages\nخط,https://x.example.org,legal,TR,ar\n"
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "e.csv", cp1256.encode("cp1256")), NOW)
    assert "line 2: the file is not UTF-8" in caught.value.problems[0]
    assert await count(directory) == 2


async def test_malformed_yaml(directory: Directory, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "a.yaml", "resources:\n  - title: [unclosed\n"), NOW)
    assert caught.value.problems[0].startswith("line ")
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "b.yaml", "just: text\n"), NOW)
    assert "expected a list" in caught.value.problems[0]
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "c.yaml", "- [1, 2]\n"), NOW)
    assert caught.value.problems == ["line 1: each entry must be a mapping of fields"]
    with pytest.raises(ImportFailed) as caught:
        await import_file(directory, write(tmp_path, "d.yaml", "- title: x\n  colour: red\n"), NOW)
    assert any("colour" in p for p in caught.value.problems)
    assert await count(directory) == 0


async def test_example_file_imports_as_unverified(directory: Directory) -> None:
    added, _ = await import_file(directory, ROOT / "resources.example.yaml", NOW)
    assert added >= 5
    for resource in await directory.all():
        assert resource.status == "stale" and resource.verified_at is None


def test_cli_import_export_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "bot.db"
    source = write(tmp_path, "a.yaml", GOOD_YAML)
    assert main(["resources", "import", str(source), "--db", str(db)]) == 0
    assert "2 added, 0 updated" in capsys.readouterr().out
    assert main(["resources", "export", "--db", str(db)]) == 0
    exported = capsys.readouterr().out
    data = yaml.safe_load(exported)["resources"]
    assert [item["title"] for item in data] == ["Crisis line", "Legal aid"]
    # Export then import again: every row updates its entry, nothing is duplicated.
    again = write(tmp_path, "again.yaml", exported)
    assert main(["resources", "import", str(again), "--db", str(db)]) == 0
    assert "0 added, 2 updated" in capsys.readouterr().out
    out_csv = tmp_path / "out.csv"
    assert main(["resources", "export", "--db", str(db), "-o", str(out_csv)]) == 0
    header = out_csv.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("id,title,summary,url") and header.endswith("title.ar,summary.ar")
    bad = write(tmp_path, "bad.yaml", GOOD_YAML.replace("countries: TR", "countries: Narnia"))
    fresh = tmp_path / "fresh.db"
    assert main(["resources", "import", str(bad), "--db", str(fresh)]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err and "line 9: countries" in err
    assert main(["resources", "export", "--db", str(fresh)]) == 0
    assert yaml.safe_load(capsys.readouterr().out.split("\n", 1)[1]) == {"resources": []}


def test_cli_reports_a_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["resources", "export", "-c", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml" in capsys.readouterr().err
