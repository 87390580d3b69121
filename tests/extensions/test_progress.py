"""The crawl's progress line."""

from __future__ import annotations

import io

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from pipeline.extensions.progress import Progress


def test_the_line_shows_the_stories_phase_once_it_has_begun() -> None:
    stats = MemoryStatsCollector(get_crawler())
    stats.set_value("newsmon/feeds/ok", 2)
    stats.set_value("newsmon/articles/status/ok", 7)
    progress = Progress(stats, 3, io.StringIO())
    line = progress.line()
    assert line.startswith("feeds 2/3 · 0 waiting · articles 7 stored, 0 known · 0 failed · ")
    assert "stories" not in line
    stats.set_value("newsmon/stories/decided", 5)
    assert "· 0 failed · stories 5 decided · " in progress.line()
