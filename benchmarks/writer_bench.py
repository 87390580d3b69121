"""How many articles per second the cluster's writer alone stores: how many nodes one feeds.

Synthetic results, as nodes send them (JSON, one article each, with its fingerprints and stems),
are decoded and stored by the coordinator's store exactly as in a crawl (``ClusterStore``: dedup,
stories, search indexing, the watchlists' queue and ``cluster_applied``, 100 articles per
transaction), into a database that already holds ``--stored`` articles. Redis is left out: its
cost per result (one read, one acknowledgement) is small beside SQLite's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from benchmarks.dedup_bench import fill, new_items
from pipeline.cluster import messages
from pipeline.cluster.coordinator import ClusterStore, ResultMessage
from pipeline.db.connection import open_db
from pipeline.pipelines.dedup import DedupPipeline
from pipeline.text.stemming import group_for, stem_text


def results(count: int, rng: random.Random) -> list[bytes]:
    """``count`` results of one article each, encoded as a node sends them."""
    encoded = []
    for n, item in enumerate(new_items(count, rng)):
        assert item.text is not None
        item.language = "en"
        item.text_stems = (group_for("en"), stem_text(item.text, group_for("en")))
        result = messages.Result(
            task=f"bench-{n}-{rng.getrandbits(32):x}",
            run=1,
            node="bench",
            kind=messages.ARTICLE,
            items=[item],
        )
        encoded.append(messages.encode_result(result).encode())
    return encoded


def measure(db_path: Path, encoded: list[bytes], warmup: int) -> float:
    """Articles stored per second, after ``warmup`` results."""
    stats = MemoryStatsCollector(get_crawler())
    store = ClusterStore(str(db_path), stats, batch_size=100, batch_seconds=3600)
    store.dedup_pipeline = DedupPipeline(str(db_path), stats)
    store.open_spider()

    async def store_all(batch: list[bytes]) -> None:
        for n, raw in enumerate(batch):
            result = messages.decode_result(raw)
            await store.process_item(
                ResultMessage(str(n).encode(), result.task, result.node, result.items)
            )
        store.flush()

    asyncio.run(store_all(encoded[:warmup]))
    started = time.perf_counter()
    asyncio.run(store_all(encoded[warmup:]))
    elapsed = time.perf_counter() - started
    asyncio.run(store.close_spider())
    with open_db(db_path) as db:
        (applied,) = db.execute("SELECT count(*) FROM cluster_applied").fetchone()
    if applied != len(encoded):
        raise SystemExit(f"only {applied} of {len(encoded)} results stored")
    return (len(encoded) - warmup) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=10_000, help="articles stored before")
    parser.add_argument("--articles", type=int, default=2200, help="of which 200 warm up")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="newsmon-writer-bench-") as tmp:
        db_path = Path(tmp) / "bench.db"
        fill(db_path, args.stored, rng)
        rate = measure(db_path, results(args.articles, rng), warmup=200)
    report = {"writer_articles_per_second": round(rate, 1), "stored_before": args.stored}
    print(
        f"writer alone (decode, dedup, stories, search, store) at {args.stored} articles: "
        f"{rate:.0f} articles/s",
        flush=True,
    )
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
