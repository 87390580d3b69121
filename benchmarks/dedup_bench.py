"""Dedup cost per article as the database grows: at 10k and 100k stored articles (synthetic).

The database is filled to each size with synthetic articles (random words, each with its LSH
buckets, story terms and index rows, published over 30 days), then 500 new articles go through
the dedup and store pipelines exactly as in a crawl: a fifth of them near-copies of each other.
Reports milliseconds per article; flat means the cost does not grow with the database.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from pipeline.db.connection import open_db
from pipeline.items import ArticleItem, Entry
from pipeline.pipelines.dedup import DedupPipeline
from pipeline.pipelines.store import SQLitePipeline
from pipeline.text.fingerprints import fingerprint

VOCABULARY = [f"w{i:05d}" for i in range(20_000)]
START = datetime(2024, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def fill(db_path: Path, target: int, rng: random.Random) -> None:
    """Add synthetic stored articles until the database holds ``target``."""
    db = open_db(db_path)
    (have,) = db.execute("SELECT count(*) FROM articles").fetchone()
    with db.atomic():
        for n in range(have, target):
            words = rng.choices(VOCABULARY, k=250)
            published = iso(START + timedelta(minutes=rng.randrange(30 * 24 * 60)))
            terms = sorted(set(words[:60]))
            cursor = db.execute(
                "INSERT INTO articles (url, title, text, status, first_seen_at, published, "
                "text_hash, story_terms) VALUES (?, ?, ?, 'ok', ?, ?, ?, ?)",
                (f"http://bench.test/{n}", " ".join(words[:8]), " ".join(words), published,
                 published, f"{rng.getrandbits(128):032x}", " ".join(terms)),
            )  # fmt: skip
            article_id = cursor.lastrowid
            db.conn.executemany(
                "INSERT OR IGNORE INTO near_dup_buckets VALUES (?, ?)",
                [(rng.getrandbits(63), article_id) for _ in range(16)],
            )
            db.conn.executemany(
                "INSERT OR IGNORE INTO story_index VALUES (?, ?, ?)",
                [(t, published, article_id) for t in terms[:12]],
            )
            db.conn.executemany(
                "INSERT INTO term_df VALUES (?, 1) ON CONFLICT(term) DO UPDATE SET df = df + 1",
                [(t,) for t in terms],
            )
    db.close()


def new_items(count: int, rng: random.Random) -> list[ArticleItem]:
    items: list[ArticleItem] = []
    for n in range(count):
        if n % 5 == 4:  # a near-copy of the previous article
            words = items[-1].text.split()  # type: ignore[union-attr]
            words = ["DATELINE", "(Wire)", *words, "Reporting", "by", "Wire", "staff"]
        else:
            words = rng.choices(VOCABULARY, k=250)
        text, title = " ".join(words), " ".join(words[:8])
        published = iso(START + timedelta(minutes=rng.randrange(30 * 24 * 60)))
        url = f"http://new.test/{rng.getrandbits(64):x}"
        entry = Entry(feed_url="http://new.test/feed", link=url, title=title, published=published)
        item = ArticleItem(url=url, entry=entry, status="ok", text=text, title=title,
                           published=published, requested_urls=[url])  # fmt: skip
        item.fingerprints = fingerprint(title, text)
        items.append(item)
    return items


def measure(db_path: Path, items: list[ArticleItem], warmup: int = 200) -> float:
    """Milliseconds per article, after ``warmup`` articles have warmed SQLite's page cache."""
    stats = MemoryStatsCollector(get_crawler())
    dedup = DedupPipeline(str(db_path), stats)
    store = SQLitePipeline(str(db_path), stats, batch_size=100, batch_seconds=3600)
    dedup.open_spider()
    store.open_spider()
    for item in items[:warmup]:
        store.process_item(dedup.process_item(item))
    store.flush()
    started = time.perf_counter()
    for item in items[warmup:]:
        store.process_item(dedup.process_item(item))
    store.close_spider()
    elapsed = time.perf_counter() - started
    dedup.close_spider()
    near = stats.get_value("newsmon/dedup/near_duplicate", 0)
    if near < len(items) // 5:
        raise SystemExit(f"only {near} of {len(items) // 5} near-copies found")
    return elapsed / (len(items) - warmup) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--articles", type=int, default=1200, help="of which 200 warm up")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = random.Random(7)
    report: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="newsmon-dedup-bench-") as tmp:
        db_path = Path(tmp) / "bench.db"
        for size in (int(s) for s in args.sizes.split(",")):
            fill(db_path, size, rng)
            report[f"ms_per_article_at_{size}"] = round(
                measure(db_path, new_items(args.articles, rng)), 3
            )
            print(
                f"dedup + store at {size:>7} articles: {report[f'ms_per_article_at_{size}']:.2f} ms/article",
                flush=True,
            )
    sizes = list(report.values())
    report["growth_ratio"] = round(sizes[-1] / sizes[0], 2)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
