"""The coordinator: ``newsmon crawl --redis URL``, the only writer of the database.

``CoordinatorSpider`` fetches nothing. It reads the feeds to crawl, skips those not due
(``FeedScheduleMiddleware``'s own test) and publishes a task per feed, with the validators of its
last complete fetch. Then it reads the nodes' results and hands each to ``ClusterStore``: the
store (``SQLitePipeline``) with dedup run on each article first (``DedupPipeline``), so that
dedup, stories, search indexing and the watchlists' queue are written in one place, as in a
single-process crawl. The store commits a batch, records the batch's tasks in
``cluster_applied`` in the same transaction (a result delivered again changes nothing), and only
then does the spider acknowledge the results and add the stored pages to the shared set of known
pages. The run ends when every task is done and every result is stored.

Redis failures: every call is tried again with a back-off for ``NEWSMON_REDIS_RETRY_SECONDS``;
after that, or if Redis lost the run (restarted without its append-only file), the crawl closes
with a one-line reason (``newsmon crawl`` exits 1), and the next run reads the feeds again.

Settings: ``NEWSMON_REDIS_URL``, ``NEWSMON_REDIS_PREFIX``, ``NEWSMON_REDIS_RETRY_SECONDS``,
``NEWSMON_WRITER_MAX_PENDING``, ``NEWSMON_ARTICLE_MAX_ATTEMPTS``; the store's, dedup's and the
feed schedule's.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from redis.exceptions import RedisError, ResponseError
from scrapy import Request, Spider, signals
from scrapy.exceptions import CloseSpider
from scrapy.utils.asyncio import create_looping_call

from pipeline import statuses
from pipeline.cluster import messages
from pipeline.cluster.frontier import REDIS_ERRORS, Frontier, retrying, safe_url
from pipeline.cluster.node import host_of
from pipeline.db.connection import open_db, rows_in
from pipeline.downloadermiddlewares.channelstate import ChannelStateMiddleware
from pipeline.downloadermiddlewares.feedschedule import FeedScheduleMiddleware
from pipeline.downloadermiddlewares.ignored_requests import FeedNotDue
from pipeline.downloadermiddlewares.knownarticles import is_final
from pipeline.items import ArticleItem, FeedItem
from pipeline.parsing.feed_entries import iso_utc
from pipeline.parsing.feed_lists import FeedSource
from pipeline.pipelines.dedup import DedupPipeline
from pipeline.pipelines.store import SQLitePipeline
from spiders.feeds import feeds_from_settings

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import Settings
    from sqlite_utils import Database

logger = logging.getLogger(__name__)

T = TypeVar("T")
APPLIED_DAYS = 30  # how long the tasks a run stored are remembered in cluster_applied


@dataclass
class ResultMessage:
    """One result read from Redis, with the items it stands for."""

    entry_id: bytes
    task: str
    node: str
    items: list[FeedItem | ArticleItem]


@dataclass
class Ledger:
    """What the spider and the store share: results handed over and not yet acknowledged."""

    in_flight: int = 0
    to_ack: list[bytes] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    nodes: dict[str, Counter[str]] = field(default_factory=dict)
    store: ClusterStore | None = None
    # Set when the store could not write a batch: the run stops reading results, and what it
    # handed over and did not store stays unacknowledged in Redis, for the next run.
    store_failed: bool = False


_LEDGERS: WeakKeyDictionary[Crawler, Ledger] = WeakKeyDictionary()


def ledger_of(crawler: Crawler) -> Ledger:
    return _LEDGERS.setdefault(crawler, Ledger())


class CloseWatch:
    """Has the scraper look again, while the crawl closes, whether it is idle. Scrapy (2.19)
    does not after an item that ``Spider.start()`` yielded, as the coordinator's results are:
    a close begun while one was still in the pipelines (a failed batch stops the crawl from
    inside one) waited for ever, holding the crawl lock (scrapy/scrapy#7029). Started with the
    store, stopped when it closes."""

    INTERVAL = 0.2

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.loop = create_looping_call(self.check)

    def start(self) -> None:
        self.loop.start(self.INTERVAL, now=False)

    def stop(self) -> None:
        if self.loop.running:
            self.loop.stop()

    def check(self) -> None:
        scraper = getattr(self.crawler.engine, "scraper", None)
        slot = getattr(scraper, "slot", None)
        if scraper is not None and slot is not None and slot.closing is not None:
            scraper._check_if_closing()


class RedisUnavailable(Exception):
    """Redis could not be reached for long enough, or lost the run."""


class CoordinatorSpider(Spider):
    name = "coordinator"

    def __init__(self, feeds: list[FeedSource] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.feeds = feeds or []
        self.frontier: Frontier | None = None
        self.redis_url = ""
        self.retry_seconds = 60.0
        self.max_pending = 200
        self.max_attempts = 3
        self.run: int | None = None
        self.run_token: str | None = None
        self.ledger = Ledger()
        self.db_path = ""
        self.db_identity = ""  # whose pages the known set in Redis holds

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        settings = crawler.settings
        kwargs.setdefault("feeds", feeds_from_settings(settings))
        spider: Self = super().from_crawler(crawler, *args, **kwargs)
        spider.redis_url = settings.get("NEWSMON_REDIS_URL")
        spider.frontier = Frontier.from_settings(settings)
        spider.retry_seconds = settings.getfloat("NEWSMON_REDIS_RETRY_SECONDS")
        spider.max_pending = settings.getint("NEWSMON_WRITER_MAX_PENDING")
        spider.max_attempts = settings.getint("NEWSMON_ARTICLE_MAX_ATTEMPTS")
        spider.ledger = ledger_of(crawler)
        spider.db_path = settings.get("NEWSMON_DB_PATH")
        spider.db_identity = str(Path(spider.db_path).resolve())
        return spider

    @property
    def redis(self) -> Frontier:
        assert self.frontier is not None
        return self.frontier

    async def start(self) -> AsyncIterator[Any]:
        try:
            async for message in self.coordinate():
                yield message
        except RedisUnavailable as exc:
            logger.error("%s", exc)
            raise CloseSpider(str(exc)) from exc
        except RedisError as exc:  # never "finished": the feeds' validators stay unconfirmed
            logger.exception("Redis at %s", safe_url(self.redis_url))
            raise CloseSpider(f"Redis at {safe_url(self.redis_url)}: {exc}") from exc
        except Exception as exc:  # the same: a run cut short is never "finished"
            logger.exception("Coordinator failed")
            raise CloseSpider(f"coordinator failed: {type(exc).__name__}: {exc}") from exc

    async def coordinate(self) -> AsyncIterator[ResultMessage]:
        try:
            await self.redis.redis.ping()
        except REDIS_ERRORS as exc:
            raise RedisUnavailable(
                f"Redis unreachable at {safe_url(self.redis_url)}: {exc}"
            ) from exc
        if await self.call(self.redis.known_of) != self.db_identity:
            await self.rebuild_known()
        self.run = await self.call(self.redis.start_run)
        self.run_token = (await self.call(self.redis.run_and_token))[1]
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("newsmon/cluster/run", self.run)
        # First what an earlier run left: the results its writer read and did not acknowledge,
        # then those it did not read. Stored (or found stored already), their pages are known
        # before any feed is read again. Its tasks are gone: no more of its results can come.
        async for message in self.results(pending=True, until_empty=True):
            yield message
        async for message in self.results(pending=False, until_empty=True):
            yield message
        ledger = self.ledger
        while not ledger.store_failed and (ledger.in_flight or ledger.to_ack or ledger.known):
            self.flush_store()
            await self.acknowledge()
            await asyncio.sleep(0.05)
        if ledger.store_failed:
            return
        tasks = self.feed_tasks(self.run)
        await self.call(lambda: self.redis.add_tasks(tasks))
        logger.info("Run %s: %d feed tasks published", self.run, len(tasks))
        async for message in self.results(pending=False, until_empty=False):
            yield message
        if ledger.store_failed:
            return  # the run stays open: its unstored results are the next run's
        await self.call(lambda: self.redis.end_run(self.run or 0))
        logger.info("Run %s: every task done and every result stored", self.run)

    async def results(self, pending: bool, until_empty: bool) -> AsyncIterator[ResultMessage]:
        """The results to store: with ``pending`` those read before and not acknowledged, else
        new ones; until there are no more (``until_empty``) or until the run is over."""
        after: bytes | None = b"0" if pending else None
        while True:
            await self.acknowledge()
            if self.ledger.store_failed:
                return
            if self.ledger.in_flight >= self.max_pending:
                self.flush_store()
                await asyncio.sleep(0.05)
                continue
            try:
                entries = await self.call(partial(self.redis.read_results, 100, 500, after))
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                await self.ensure_run()  # the results stream is gone: so is the run
                raise
            for entry_id, fields in entries:
                if after is not None:
                    after = entry_id
                if not fields:  # deleted since it was read: nothing to store
                    self.ledger.to_ack.append(entry_id)
                    continue
                message = self.message(entry_id, fields)
                if message is None:
                    continue
                self.ledger.in_flight += 1
                yield message
            if entries:
                continue
            if until_empty:
                return
            self.flush_store()
            await self.acknowledge()
            if await self.finished():
                return

    async def ensure_run(self) -> None:
        """Stop if Redis no longer knows the run: it restarted without its data."""
        if await self.call(self.redis.run_and_token) != (self.run, self.run_token):
            raise RedisUnavailable(
                f"Redis at {safe_url(self.redis_url)} lost run {self.run} (restarted without "
                "its append-only file?): the next run reads the feeds again"
            )

    async def finished(self) -> bool:
        """Every task done and every result stored; never on a Redis that lost the run, whose
        empty streams say nothing (the run is looked up last: a restart before it is seen)."""
        if self.ledger.in_flight or self.ledger.to_ack:
            return False
        if await self.call(self.redis.open_tasks):
            return False
        if await self.call(self.redis.results_backlog):
            return False
        await self.ensure_run()
        return True

    def feed_tasks(self, run: int) -> list[tuple[str, str]]:
        """A task per feed due, with its validators (``FeedScheduleMiddleware``)."""
        schedule = FeedScheduleMiddleware.from_crawler(self.crawler)
        channels = ChannelStateMiddleware.from_crawler(self.crawler)
        tasks = []
        try:
            for feed in self.feeds:
                request = Request(feed.url, meta={"newsmon_kind": "feed"})
                try:
                    schedule.process_request(request)
                except FeedNotDue:
                    continue
                channels.process_request(request)
                headers = {
                    name: value.decode("latin-1")
                    for name in messages.VALIDATOR_HEADERS
                    if (value := request.headers.get(name))
                }
                task = messages.Task(
                    messages.FEED,
                    feed.url,
                    run,
                    title=feed.title,
                    category=feed.category,
                    headers=headers,
                    previous_hash=request.meta.get("newsmon_previous_hash"),
                    newest_post=request.meta.get("newsmon_newest_post"),
                )
                tasks.append((host_of(request.url), messages.encode_task(task)))
        finally:
            schedule.reader.close()
            channels.reader.close()
        return tasks

    def message(self, entry_id: bytes, fields: dict[bytes, bytes]) -> ResultMessage | None:
        assert self.crawler.stats is not None
        try:
            result = messages.decode_result(fields.get(b"result", b""), fields.get(b"seen", b""))
        except messages.MessageError as exc:
            # Not newsmon's: kept out of the database, acknowledged so that the run can end.
            logger.error("Result %s refused: %s", entry_id, exc)
            self.crawler.stats.inc_value("newsmon/cluster/results_refused")
            self.ledger.to_ack.append(entry_id)
            return None
        items = list(result.items)
        for index in result.seen:
            url, _request_url, entry = result.follow[index]
            items.append(ArticleItem(url=url, entry=entry, status=statuses.SEEN))
        figures = self.ledger.nodes.setdefault(result.node, Counter())
        figures["results"] += 1
        figures[result.kind + "s"] += 1
        self.crawler.stats.inc_value("newsmon/cluster/results")
        return ResultMessage(entry_id, result.task, result.node, items)

    def flush_store(self) -> None:
        store = self.ledger.store
        if store is not None and store.has_pending():
            store.flush()

    async def acknowledge(self) -> None:
        """Acknowledge the stored results, after adding their pages to the known ones."""
        known, ids = self.ledger.known, self.ledger.to_ack
        if known:
            await self.call(lambda: self.redis.add_known(known))
            self.ledger.known = []
        if ids:
            await self.call(lambda: self.redis.ack_results(ids))
            self.ledger.to_ack = []

    async def rebuild_known(self) -> None:
        """The known pages, from SQLite: Redis is new, or lost them."""
        urls = known_urls(self.db_path, self.max_attempts)
        await self.call(self.redis.drop_known)
        await self.call(lambda: self.redis.add_known(urls))
        await self.call(lambda: self.redis.mark_known(self.db_identity))
        logger.info("Known pages rebuilt from the database: %d URLs", len(urls))

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """``operation``, tried again with a back-off while Redis cannot be reached
        (``retrying``), for ``NEWSMON_REDIS_RETRY_SECONDS``."""
        started = time.monotonic()
        try:
            return await retrying(operation, self.retry_seconds)
        except REDIS_ERRORS as exc:
            raise RedisUnavailable(
                f"Redis unreachable at {safe_url(self.redis_url)} for "
                f"{time.monotonic() - started:.0f} s: {exc}"
            ) from exc


def known_urls(db_path: str, max_attempts: int) -> list[str]:
    """Every URL under which the database holds a page it will not fetch again."""
    urls: set[str] = set()
    with open_db(db_path) as db:
        rows = db.execute(
            "SELECT url, status, attempts FROM articles UNION ALL "
            "SELECT e.url, a.status, a.attempts FROM entries e JOIN articles a "
            "ON a.id = e.article_id WHERE e.url IS NOT NULL"
        )
        for url, status, attempts in rows:
            if is_final(status, attempts, max_attempts):
                urls.add(url)
    return list(urls)


class ClusterStore(SQLitePipeline):
    """The store, fed with whole results: dedup runs on each of their articles, all of a result
    is written in one batch, with the result's task in ``cluster_applied``; after the commit the
    results are handed back to the spider to acknowledge. Settings: the store's and dedup's,
    ``NEWSMON_ARTICLE_MAX_ATTEMPTS``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ledger = Ledger()
        self.dedup_pipeline: DedupPipeline | None = None
        self.max_attempts = 3
        self.messages: list[ResultMessage] = []  # of the items pending
        self.close_watch: CloseWatch | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        store = super().from_crawler(crawler)
        store.close_watch = CloseWatch(crawler)
        store.ledger = ledger_of(crawler)
        store.ledger.store = store
        store.dedup_pipeline = DedupPipeline.from_crawler(crawler)
        store.max_attempts = crawler.settings.getint("NEWSMON_ARTICLE_MAX_ATTEMPTS")
        return store

    @property
    def dedup_stage(self) -> DedupPipeline:
        assert self.dedup_pipeline is not None
        return self.dedup_pipeline

    def open_spider(self) -> None:
        super().open_spider()
        self.dedup_stage.open_spider()
        cutoff = iso_utc(time.time() - APPLIED_DAYS * 86400)
        with self.db.atomic():
            self.db.execute("DELETE FROM cluster_applied WHERE applied_at < ?", (cutoff,))
        if self.close_watch is not None:
            self.close_watch.start()

    async def close_spider(self) -> None:  # type: ignore[override]  # Scrapy awaits either
        """Store what is left, then dedup's stories phase (issue 19: the stories of the run's
        unique articles decided by their embeddings), as in a crawl on one machine."""
        if self.close_watch is not None:
            self.close_watch.stop()
        try:
            super().close_spider()
        finally:
            phase = self.dedup_stage.close_spider()
            if phase is not None:
                await phase

    def has_pending(self) -> bool:
        return bool(self._pending or self.messages)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ResultMessage):
            return super().process_item(item)
        if self._applied(item.task):  # stored before its acknowledgement was lost
            self.stats.inc_value("newsmon/cluster/results_again")
            self._settle([item])
            return item
        try:
            for each in item.items:
                decided = self.dedup_stage.process_item(each)
                if inspect.isawaitable(decided):  # a story decided once its embedding is back
                    await decided
        except Exception:
            # Not stored: it stays unacknowledged in Redis, and the next run stores it.
            self.ledger.in_flight -= 1
            self.stats.inc_value("newsmon/cluster/results_failed")
            raise
        self._pending.extend(item.items)
        self.messages.append(item)
        self.flush_if_due()
        return item

    def flush(self) -> bool:
        stored = super().flush()
        batch, self.messages = self.messages, []
        if not stored:  # left unacknowledged, for the next run; this one stops
            self.ledger.in_flight -= len(batch)
            self.ledger.store_failed = True
            return False
        self._settle(batch)
        for message in batch:
            self.ledger.nodes.setdefault(message.node, Counter())["stored"] += 1
        return True

    def _settle(self, batch: list[ResultMessage]) -> None:
        """The stored (or already applied) messages: their pages known, and to acknowledge."""
        self.ledger.known.extend(self._known_of(batch))
        for message in batch:
            self.ledger.to_ack.append(message.entry_id)
            self.ledger.in_flight -= 1

    def _write_batch(self, pending: list[FeedItem | ArticleItem]) -> None:
        with self.db.atomic():
            super()._write_batch(pending)
            now, run = iso_utc(time.time()), self.stats.get_value("newsmon/run_id")
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO cluster_applied (task, run_id, applied_at) VALUES (?, ?, ?)",
                [(message.task, run, now) for message in self.messages],
            )

    def _applied(self, task: str) -> bool:
        row = self.db.execute("SELECT 1 FROM cluster_applied WHERE task = ?", (task,)).fetchone()
        return row is not None

    def _known_of(self, batch: Iterable[ResultMessage]) -> list[str]:
        """The URLs of the batch's pages that are now known for good."""
        articles = [
            item
            for message in batch
            for item in message.items
            if isinstance(item, ArticleItem) and item.status != statuses.SEEN
        ]
        if not articles:
            return []
        found = _stored_statuses(self.db, {item.url for item in articles})
        urls: list[str] = []
        for item in articles:
            if item.same_as_url:
                urls.extend(item.requested_urls)
                continue
            stored = found.get(item.url)
            if stored is not None and is_final(stored[0], stored[1], self.max_attempts):
                urls.append(item.url)
                urls.extend(item.requested_urls)
        return urls


def _stored_statuses(db: Database, urls: set[str]) -> dict[str, tuple[str, int | None]]:
    sql = "SELECT url, status, attempts FROM articles WHERE url IN ({})"
    return {url: (status, attempts) for url, status, attempts in rows_in(db, sql, urls)}


class ClusterRunLog:
    """Writes the run's per-node figures (``newsmon/cluster/nodes``) into ``crawl_runs.nodes``,
    after ``RunLog`` has completed the row. Settings: ``NEWSMON_DB_PATH``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self) -> None:
        stats = self.crawler.stats
        assert stats is not None
        run_id = stats.get_value("newsmon/run_id")
        if run_id is None:
            return
        ledger = ledger_of(self.crawler)
        nodes = {node: dict(figures) for node, figures in sorted(ledger.nodes.items())}
        stats.set_value("newsmon/cluster/nodes", nodes)
        with open_db(self.crawler.settings.get("NEWSMON_DB_PATH")) as db, db.atomic():
            db.execute(
                "UPDATE crawl_runs SET nodes = ? WHERE id = ?",
                (json.dumps(nodes, sort_keys=True), run_id),
            )


def coordinator_settings(settings: Settings) -> None:
    """Turn a crawl's settings into the coordinator's: results in, no requests out."""
    settings.set(
        "ITEM_PIPELINES", {"pipeline.cluster.coordinator.ClusterStore": 800}, priority="cmdline"
    )
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["pipeline.cluster.coordinator.ClusterRunLog"] = 510  # after RunLog (500)
    settings.set("EXTENSIONS", extensions, priority="cmdline")
    settings.set("REMOTE_CONTROL_ENABLED", False, priority="cmdline")  # nothing listens


def crawl_spider(settings: Settings) -> str | type[Spider]:
    """The spider of a crawl: the feed spider, or with ``NEWSMON_REDIS_URL`` the coordinator
    (whose settings this sets)."""
    if not settings.get("NEWSMON_REDIS_URL"):
        return "feeds"
    coordinator_settings(settings)
    return CoordinatorSpider
