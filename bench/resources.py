"""Resource directory search: 100,000 generated entries in mixed English and Arabic.

Prints the import rate (rows/s, the real CSV import path: read, validate, one transaction), the
database size, and p50/p99 latency of `Directory.search` (the plugin's own call, through aiosqlite)
over a mix of queries, next to a naive `LIKE '%word%'` scan over the same normalised text, same
data, same run. A measurement, not a test: nothing here asserts on time.

    .venv/bin/python bench/resources.py                  # 100,000 entries, 2,000 queries
    .venv/bin/python bench/resources.py --entries 20000 --queries 500   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bots.resources.importer import import_file
from bots.resources.query import parse_query
from bots.resources.search import search
from bots.resources.store import Directory
from bots.resources.terms import query_words
from core.storage import Database

EN_WORDS = (
    "legal aid asylum lawyer housing shelter clinic health mental support hotline crisis "
    "counselling therapy refugee relocation school education language course community centre "
    "queer trans lesbian gay bisexual intersex youth women family emergency medical doctor hiv "
    "testing prep hormones documents visa residence permit appeal court interpreter food "
    "clothes rent room network group peer online phone chat safe house travel border "
    "humanitarian rights advocacy volunteer free confidential anonymous night weekend"
).split()
AR_WORDS = (
    "مساعدة قانونية لجوء محامي سكن مأوى عيادة صحة نفسية دعم خط ساخن أزمة استشارة علاج لاجئ "
    "انتقال مدرسة تعليم لغة دورة مجتمع مركز كويري عابر مثلية شباب نساء عائلة طوارئ طبي طبيب "
    "فحص هرمونات وثائق تأشيرة إقامة تصريح استئناف محكمة مترجم طعام ملابس إيجار غرفة شبكة "
    "مجموعة أقران هاتف دردشة آمن بيت سفر حدود إنساني حقوق مناصرة متطوع مجاني سري ليلي"
).split()
DIACRITICS = ("\u064e", "\u064f", "\u0650", "\u0651", "\u0652")
CATEGORIES = ("health", "mental_health", "legal", "asylum", "housing", "education", "community",
              "emergency")
SYLLABLES = ("ka", "ra", "no", "mi", "lu", "sa", "te", "vo", "di", "an", "el", "or", "is", "um", "ba",
             "zo", "ne", "ti", "ma", "ri", "fa", "lo", "ge", "hu", "ya", "qi", "we", "pe", "co", "du")
CITIES = ("istanbul", "izmir", "ankara", "beirut", "amman", "berlin", "hamburg", "amsterdam",
          "stockholm", "paris", "london", "toronto", "cairo", "tunis", "casablanca", "athens",
          "اسطنبول", "بيروت", "عمان", "برلين", "القاهرة", "تونس", "الدار البيضاء", "أثينا")
COUNTRIES = ("TR", "LB", "JO", "DE", "NL", "SE", "FR", "GB", "US", "CA", "EG", "MA", "TN", "IQ",
             "SY", "GR", "IT", "ES", "AT", "BE", "DK", "NO", "FI", "IE", "PT", "PL", "CZ", "CH",
             "AE", "KE")


def sentence(rng: random.Random, words: tuple[str, ...] | list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n))


def generate_csv(path: Path, entries: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "summary", "url", "categories", "countries", "languages",
                         "verified_at", "verified_by", "title.ar", "summary.ar"])
        for n in range(entries):
            arabic_first = rng.random() < 0.5
            countries = ["global"] if rng.random() < 0.1 else rng.sample(COUNTRIES, rng.randint(1, 3))
            # A made-up organization name (rare words, like real names) plus common service words.
            name = "".join(rng.choice(SYLLABLES) for _ in range(3)).title()
            city = rng.choice(CITIES)
            en_title = f"{name} {sentence(rng, EN_WORDS, rng.randint(1, 3)).title()}"
            ar_title = f"{name} {sentence(rng, AR_WORDS, rng.randint(1, 3))}"
            en_summary = f"{sentence(rng, EN_WORDS, rng.randint(8, 20))} {city}"
            ar_summary = f"{sentence(rng, AR_WORDS, rng.randint(8, 20))} {city}"
            year, day = rng.choice((2024, 2025, 2026)), rng.randint(1, 28)
            writer.writerow([
                ar_title if arabic_first else en_title,
                ar_summary if arabic_first else en_summary,
                f"https://org{n}.example.org/{rng.randint(0, 999)}",
                ";".join(rng.sample(CATEGORIES, rng.randint(1, 2))),
                ";".join(countries),
                "ar;en" if arabic_first else rng.choice(("en", "en;ar", "en;fr")),
                f"{year}-{rng.randint(1, 10):02d}-{day:02d}",
                "@curator:example.org",
                "" if arabic_first or rng.random() < 0.5 else ar_title,
                "" if arabic_first or rng.random() < 0.5 else ar_summary,
            ])


def with_diacritics(rng: random.Random, word: str) -> str:
    return "".join(ch + (rng.choice(DIACRITICS) if rng.random() < 0.5 else "") for ch in word)


def typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word + word[-1]
    i = rng.randint(1, len(word) - 3)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def generate_queries(count: int, seed: int) -> list[tuple[str, str]]:
    """(kind, text) pairs: common words (worst case), names, Arabic, filters, typos."""
    rng = random.Random(seed)
    queries = []
    for n in range(count):
        kind = ("en", "ar", "ar_diacritics", "filtered", "typo", "name")[n % 6]
        if kind == "name":
            name = "".join(rng.choice(SYLLABLES) for _ in range(3))
            text = f"{name} {rng.choice(EN_WORDS)}" if rng.random() < 0.5 else name
        elif kind == "en":
            text = sentence(rng, EN_WORDS, rng.randint(1, 3))
        elif kind == "ar":
            text = sentence(rng, AR_WORDS, rng.randint(1, 3))
        elif kind == "ar_diacritics":
            text = " ".join(with_diacritics(rng, rng.choice(AR_WORDS)) for _ in range(rng.randint(1, 2)))
        elif kind == "filtered":
            words = sentence(rng, rng.choice((EN_WORDS, AR_WORDS)), rng.randint(1, 2))
            text = f"{words} country:{rng.choice(COUNTRIES)} category:{rng.choice(CATEGORIES)}"
        else:
            text = typo(rng, rng.choice(EN_WORDS + AR_WORDS))
        queries.append((kind, text))
    return queries


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def like_search(db: Database, text: str, limit: int = 50) -> int:
    """The naive baseline: every word as LIKE '%word%' over the same normalised text, no index."""
    query = parse_query(text)
    words = query.words or query_words(text)
    sql = "SELECT id FROM resources_entries WHERE status != 'removed'"
    params: list[str] = []
    for word in words:
        sql += " AND (fts_title LIKE ? OR fts_body LIKE ?)"
        params += [f"%{word}%", f"%{word}%"]
    if query.country:
        sql += " AND (instr(countries, ?) > 0 OR instr(countries, ',global,') > 0)"
        params.append(f",{query.country},")
    if query.category:
        sql += " AND fts_tags LIKE ?"
        params.append(f"%xk{query.category.value.replace('_', '')}%")
    sql += " ORDER BY verified_ts DESC LIMIT ?"
    rows = await db.fetchall(sql, (*params, limit))
    return len(rows)


@dataclass
class Figures:
    added: int = 0
    import_seconds: float = 0.0
    # Per query kind: wall-clock and CPU milliseconds (CPU of this process, aiosqlite's thread
    # included: on a shared machine wall time also counts other processes' turns).
    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    # The same subset of queries, both ways.
    like_wall: list[float] = field(default_factory=list)
    fts_wall_subset: list[float] = field(default_factory=list)
    answered: int = 0
    answered_like: int = 0
    queries: int = 0


async def measure(
    db_path: Path, source: Path, queries: int, seed: int, reuse: bool, like_every: int
) -> Figures:
    figures = Figures()
    db = Database(db_path)
    await db.open()
    directory = Directory(db)
    await directory.setup()
    started = time.perf_counter()
    if reuse:
        figures.added = len(await directory.existing_ids())
    else:
        figures.added, _ = await import_file(directory, source, time.time())
    figures.import_seconds = time.perf_counter() - started
    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    workload = generate_queries(queries, seed + 1)
    figures.queries = len(workload)
    now = time.time()
    for _, text in workload[:50]:  # warm the page cache for both methods alike
        await search(db, parse_query(text), now=now, stale_after_days=365)
    for n, (kind, text) in enumerate(workload):
        w0, c0 = time.perf_counter(), time.process_time()
        result = await search(db, parse_query(text), now=now, stale_after_days=365)
        wall = (time.perf_counter() - w0) * 1000
        figures.wall.setdefault(kind, []).append(wall)
        figures.cpu.setdefault(kind, []).append((time.process_time() - c0) * 1000)
        figures.answered += bool(result.hits)
        if n % like_every == 0:
            figures.fts_wall_subset.append(wall)
            w0 = time.perf_counter()
            figures.answered_like += bool(await like_search(db, text))
            figures.like_wall.append((time.perf_counter() - w0) * 1000)
    await db.close()
    return figures


def line(label: str, values: list[float]) -> str:
    return f"{label:22}p50 {percentile(values, 0.5):7.2f} ms   p99 {percentile(values, 0.99):7.2f} ms"


def run(entries: int, queries: int, seed: int, keep: Path | None, reuse: bool, like_every: int) -> None:
    work = keep or Path(tempfile.mkdtemp(prefix="resources-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / "entries.csv"
    db_path = work / "resources.db"
    reuse = reuse and db_path.exists()
    if not reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        generate_csv(source, entries, seed)
    load_before = os.getloadavg()[0]
    f = asyncio.run(measure(db_path, source, queries, seed, reuse, like_every))
    size = os.path.getsize(db_path)
    if reuse:
        print(f"entries               {f.added:,} (database reused from {work}; no import measured)")
    else:
        rate = f.added / f.import_seconds
        print(f"entries imported      {f.added:,} in {f.import_seconds:.1f} s = {rate:,.0f} rows/s "
              f"(CSV {source.stat().st_size / 1e6:.1f} MB: read, validate, one transaction)")
    print(f"database size         {size / 1e6:.1f} MB ({size / f.added:,.0f} bytes/entry, "
          "entries + FTS5 index + vocabulary trigrams)")
    print(f"load average          {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} CPUs): wall times include other processes' turns")
    print(f"queries               {f.queries:,} (answered: {f.answered:,})")
    every_wall = [ms for values in f.wall.values() for ms in values]
    every_cpu = [ms for values in f.cpu.values() for ms in values]
    print(line("FTS5 search, wall", every_wall) + f"   max {max(every_wall):7.2f} ms   (target p99 < 10 ms)")
    print(line("FTS5 search, CPU", every_cpu))
    for kind in f.wall:
        print(line(f"  {kind}, wall", f.wall[kind]) + "   CPU " + line("", f.cpu[kind])[22:])
    print(f"LIKE baseline on every {like_every}th query ({len(f.like_wall)}, answered {f.answered_like}):")
    print(line("  naive LIKE scan", f.like_wall))
    print(line("  FTS5, same queries", f.fts_wall_subset))
    ratio50 = statistics.median(f.like_wall) / statistics.median(f.fts_wall_subset)
    ratio99 = percentile(f.like_wall, 0.99) / percentile(f.fts_wall_subset, 0.99)
    print(f"  LIKE / FTS5         p50 {ratio50:.0f}x   p99 {ratio99:.0f}x")
    if keep is None:
        for path in work.iterdir():
            path.unlink()
        work.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="keep the CSV and database here")
    parser.add_argument("--like-every", type=int, default=4,
                        help="run the slow LIKE baseline on every Nth query (default 4)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: search the database kept there instead of importing again")
    args = parser.parse_args()
    run(args.entries, args.queries, args.seed, args.keep, args.reuse, max(1, args.like_every))


if __name__ == "__main__":
    main()
