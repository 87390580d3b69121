"""newsmon's Python API; the command line (``pipeline.cli``) is a thin layer over it."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from pipeline.addresses import parse_networks
from pipeline.db import open_db, open_db_readonly
from pipeline.feedlist import FeedListError, FeedSource, load_feed_list
from pipeline.feeds import iso_utc
from pipeline.lock import DatabaseLock

if TYPE_CHECKING:
    from sqlite_utils import Database

METADATA_TEMPLATE = Path(__file__).parent / "datasette" / "metadata.json"


class NewsmonError(RuntimeError):
    """A run could not start or finish; the message is one line for the user."""


@dataclass
class CrawlResult:
    finish_reason: str
    run_id: int | None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        """The run finished and stored everything it found."""
        return self.finish_reason == "finished" and not self.stats.get("newsmon/db_errors")


def crawl_settings(
    db_path: str | Path,
    feeds_file: str | Path | None = None,
    allow_private: Iterable[str] = (),
    overrides: dict[str, str] | None = None,
) -> Settings:
    """Scrapy settings for a crawl, as ``scrapy crawl feeds -s ...`` would build them."""
    settings = Settings()
    settings.setmodule("pipeline.settings", priority="project")
    settings.set("NEWSMON_DB_PATH", str(db_path), priority="cmdline")
    allowed = list(allow_private)
    parse_networks(allowed)  # a bad network is an error now, not in the middle of a crawl
    if allowed:
        settings.set("NEWSMON_ALLOW_PRIVATE", allowed, priority="cmdline")
    if feeds_file is not None:
        count = len(load_feed_list(feeds_file))  # fail early, with the file's own error
        settings.set("NEWSMON_FEEDS_FILE", str(feeds_file), priority="cmdline")
    else:
        feeds = list_feeds(db_path)
        if not feeds:
            raise NewsmonError(
                f"no feeds to crawl: give --feeds FILE, or import feeds into {db_path} first"
            )
        settings.set("NEWSMON_FEEDS", [feed["url"] for feed in feeds], priority="cmdline")
        count = len(feeds)
    settings.set("NEWSMON_FEEDS_TOTAL", count, priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def crawl(
    db_path: str | Path,
    feeds_file: str | Path | None = None,
    allow_private: Iterable[str] = (),
    overrides: dict[str, str] | None = None,
) -> CrawlResult:
    """Crawl the feeds into the database at ``db_path`` and return how the run ended."""
    try:
        settings = crawl_settings(db_path, feeds_file, allow_private, overrides)
    except (FeedListError, ValueError) as exc:
        raise NewsmonError(str(exc)) from exc
    with DatabaseLock(db_path):  # CrawlLocked if another crawl has it
        open_db(db_path).close()  # create and migrate, or fail with a clear reason
        settings.set("NEWSMON_LOCK_HELD", True, priority="cmdline")
        process = CrawlerProcess(settings)
        crawler = process.create_crawler("feeds")
        process.crawl(crawler)
        process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return CrawlResult(
        finish_reason=str(stats.get("finish_reason", "unknown")),
        run_id=stats.get("newsmon/run_id"),
        stats=stats,
    )


def import_feeds(db_path: str | Path, feeds_file: str | Path) -> int:
    """Add the feeds of an OPML or plain list to the database; return how many were new."""
    feeds = load_feed_list(feeds_file)
    db = open_db(db_path)
    try:
        return add_feeds(db, feeds)
    finally:
        db.close()


def add_feeds(db: Database, feeds: Sequence[FeedSource]) -> int:
    """Insert feeds not yet in ``db``, fill in missing titles and categories; return how many
    were new."""
    now = iso_utc(time.time())
    added = 0
    with db.atomic():
        for feed in feeds:
            known = db.execute("SELECT 1 FROM feeds WHERE url = ?", (feed.url,)).fetchone()
            db.execute(
                """
                INSERT INTO feeds (url, title, category, added_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(url) DO UPDATE SET
                    title = coalesce(feeds.title, excluded.title),
                    category = coalesce(excluded.category, feeds.category)
                """,
                (feed.url, feed.title, feed.category, now),
            )
            added += known is None
    return added


def list_feeds(db_path: str | Path) -> list[dict[str, Any]]:
    """The feeds stored in the database, with their last fetch outcome."""
    if not Path(db_path).exists():
        return []
    db = open_db_readonly(db_path)
    try:
        if not db["feeds"].exists():
            return []
        return list(db.query("SELECT * FROM feeds ORDER BY id"))
    finally:
        db.close()


def datasette_metadata(db_name: str) -> dict[str, Any]:
    """The project's datasette metadata, for a database file named ``db_name``.db."""
    template: dict[str, Any] = json.loads(METADATA_TEMPLATE.read_text("utf-8"))
    template["databases"] = {db_name: template.pop("database")}
    return template


def serve_command(db_path: str | Path, host: str, port: int) -> list[str]:
    """The datasette command line that serves ``db_path`` with the project's metadata."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise NewsmonError(f"no database at {db_path}: run 'newsmon crawl' first")
    metadata = datasette_metadata(db_path.stem)
    handle, metadata_path = tempfile.mkstemp(prefix="newsmon-metadata-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(metadata, out)
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        str(db_path),
        "--metadata",
        metadata_path,
        "--host",
        host,
        "--port",
        str(port),
        "--setting",
        "default_page_size",
        "50",
        "--setting",
        "sql_time_limit_ms",
        "5000",
        "--setting",
        "facet_time_limit_ms",
        "500",
    ]
