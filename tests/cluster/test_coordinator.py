"""The coordinator's store: what it owes the spider when a result cannot be stored."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from pipeline.cluster.coordinator import ClusterStore, Ledger, ResultMessage
from pipeline.items import FeedItem
from pipeline.pipelines.dedup import DedupPipeline


class LockedDedup(DedupPipeline):
    def process_item(self, item: object) -> object:
        raise sqlite3.OperationalError("database is locked")


def test_a_result_that_fails_before_its_batch_is_owed_to_the_next_run(tmp_path: Path) -> None:
    """A result whose dedup failed (the database was locked for a read) is not stored: the
    store stops counting it as handed over, so the run does not wait for it for ever, and it
    stays unacknowledged in Redis for the next run."""
    db = str(tmp_path / "news.db")
    stats = MemoryStatsCollector(get_crawler())
    store = ClusterStore(db, stats, batch_size=100, batch_seconds=3600)
    store.ledger = Ledger(in_flight=1)
    store.dedup_pipeline = LockedDedup(db, stats)
    store.open_spider()
    message = ResultMessage(b"1-0", "task-1", "node-a", [FeedItem("https://a.example/f", "ok")])
    with pytest.raises(sqlite3.OperationalError):
        asyncio.run(store.process_item(message))
    assert store.ledger.in_flight == 0 and store.ledger.to_ack == []
    assert stats.get_value("newsmon/cluster/results_failed") == 1
    asyncio.run(store.close_spider())
