"""The backfill's progress line: sitemaps and pages in range instead of feeds."""

from __future__ import annotations

import io

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from pipeline.extensions.backfillprogress import BackfillProgress


def test_the_line_counts_sitemaps_and_pages_in_range() -> None:
    stats = MemoryStatsCollector(get_crawler())
    for key, value in {
        "newsmon/sitemaps/read": 3,
        "newsmon/backfill/in_range": 42,
        "newsmon/articles/status/ok": 7,
        "newsmon/articles/known": 5,
        "newsmon/articles/status/fetch_failed:404": 1,
    }.items():
        stats.set_value(key, value)
    line = BackfillProgress(stats, 0, io.StringIO()).line()
    assert line.startswith("sitemaps 3 read, 42 pages in range · ")
    assert "articles 7 stored, 5 known · 1 failed" in line
    assert "feeds" not in line
