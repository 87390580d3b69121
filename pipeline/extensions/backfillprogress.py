"""Extension that shows a backfill's progress on an interactive terminal (``NEWSMON_PROGRESS``).

The crawl's progress line (``pipeline.extensions.progress``), which begins with the sitemaps
read and the pages found in the range instead of the feeds: ``newsmon backfill`` has none.

Settings: ``NEWSMON_PROGRESS`` (unless it is set, the extension is off).
"""

from __future__ import annotations

from pipeline.extensions.progress import Progress


class BackfillProgress(Progress):
    def head(self) -> str:
        value = self.stats.get_value
        return (
            f"sitemaps {value('newsmon/sitemaps/read', 0)} read, "
            f"{value('newsmon/backfill/in_range', 0)} pages in range"
        )
