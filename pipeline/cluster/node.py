"""A crawl node: takes tasks of the hosts it leases, fetches, parses and extracts, sends results.

``newsmon node --redis URL`` runs one Scrapy crawl that lasts until SIGTERM and serves run after
run. ``NodeSpider`` is the feed spider (``spiders/feeds.py``) with its requests taken from
Redis instead of a feed list: it leases hosts (one node serves a host at a time, so Scrapy's
per-host delay, concurrency, robots.txt and Crawl-delay hold across machines), takes over the
tasks a vanished node left on a host it leases, and reads the host's new tasks as it has room.
Each task's callback or errback gathers what the feed spider made of it into one
``TaskResult``; ``PublishResultsPipeline`` has its pages extracted by the node's worker pool
(``ExtractPipeline``) and publishes it, with the pages to follow and the task's
acknowledgement, in one step (``Frontier.complete``). ``SharedKnownArticlesMiddleware`` drops
requests for pages the writer has stored already.

On SIGTERM the node stops taking tasks, gives its leases up (the next node takes over what it
had not finished) and exits within ``NEWSMON_NODE_STOP_SECONDS``.

Settings: ``NEWSMON_REDIS_URL``, ``NEWSMON_REDIS_PREFIX``, ``NEWSMON_REDIS_RETRY_SECONDS``,
``NEWSMON_NODE_LEASE_SECONDS``, ``NEWSMON_NODE_HOSTS``, ``NEWSMON_NODE_TASKS_PER_HOST``,
``NEWSMON_NODE_MAX_RESULTS``, ``NEWSMON_NODE_MAX_DELIVERIES``, ``NEWSMON_NODE_STOP_SECONDS``,
``NEWSMON_NODE_NAME``; the feed spider's and the worker pool's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from scrapy import Request
from scrapy.crawler import CrawlerProcess
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_from_coro

from pipeline import statuses
from pipeline.cluster import messages
from pipeline.cluster.frontier import REDIS_ERRORS, Backoff, Frontier, retrying, safe_url
from pipeline.cluster.messages import Result, Task
from pipeline.downloadermiddlewares.ignored_requests import KnownArticle
from pipeline.downloadermiddlewares.knownarticles import spellings
from pipeline.items import ArticleItem, Entry, FeedItem
from pipeline.net.urls import normalize_url
from pipeline.parsing.feed_entries import iso_utc
from pipeline.parsing.feed_lists import FeedSource
from pipeline.pipelines.extraction import ExtractPipeline
from pipeline.pipelines.posts import PostPipeline
from pipeline.project_settings import project_settings
from spiders.feeds import FeedSpider

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

NODE_LOST = "node_lost"  # fetch_failed:node_lost, a task given up after killing nodes


def host_of(url: str) -> str:
    """The host a request goes to, as Scrapy's per-host slots name it."""
    return (urlsplit(url).hostname or "").lower()


@dataclass
class TaskResult:
    """What the feed spider made of one task, on its way to be extracted and published."""

    task: Task
    host: str
    entry_id: bytes
    items: list[FeedItem | ArticleItem] = field(default_factory=list)
    follow: list[tuple[str, str, Entry]] = field(default_factory=list)


class NodeSpider(FeedSpider):
    name = "node"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frontier: Frontier | None = None
        self.node = ""
        self.redis_url = ""
        self.lease_seconds = 30.0
        self.max_hosts = 16
        self.tasks_per_host = 8
        self.max_results = 5000
        self.max_deliveries = 3
        self.retry_seconds = 60.0
        self.handover_gap = 1.0
        self.poll_seconds = 0.5
        self.stopping = False
        self.run: int | None = None
        self.run_token: str | None = None  # tells runs apart, whatever Redis forgot
        self.leases: dict[str, float] = {}  # host -> when its lease was last renewed
        self.in_progress: Counter[str] = Counter()  # host -> tasks taken and not finished
        self.figures: Counter[str] = Counter()
        self.started_at = time.time()

    def first_request_of(self, url: str) -> bool:
        """Always: which pages a run requested already is Redis's to say (the completion
        script); a node's own memory would also hold the pages of an earlier run's stale
        responses."""
        return True

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        kwargs.setdefault("feeds", [])  # its feeds come from Redis, not from a feed list
        spider: Self = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.redis_url = settings.get("NEWSMON_REDIS_URL")
        spider.frontier = Frontier.from_settings(settings)
        name = settings.get("NEWSMON_NODE_NAME") or socket.gethostname()
        spider.node = f"{name}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        spider.lease_seconds = settings.getfloat("NEWSMON_NODE_LEASE_SECONDS")
        spider.max_hosts = settings.getint("NEWSMON_NODE_HOSTS")
        spider.tasks_per_host = settings.getint("NEWSMON_NODE_TASKS_PER_HOST")
        spider.max_results = settings.getint("NEWSMON_NODE_MAX_RESULTS")
        spider.max_deliveries = settings.getint("NEWSMON_NODE_MAX_DELIVERIES")
        spider.retry_seconds = settings.getfloat("NEWSMON_REDIS_RETRY_SECONDS")
        # The next node waits as long as this one would between two requests to the host.
        spider.handover_gap = max(settings.getfloat("DOWNLOAD_DELAY"), 0.0)
        return spider

    @property
    def redis(self) -> Frontier:
        assert self.frontier is not None, "the node is not open"
        return self.frontier

    # The loop ------------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        """Serve until asked to stop: requests go to the engine as tasks come in."""
        logger.info("Node %s serving %s", self.node, safe_url(self.redis_url))
        backoff = Backoff()
        last_heartbeat = 0.0
        while not self.stopping:
            try:
                if time.monotonic() - last_heartbeat >= 5:
                    await self.heartbeat()
                    last_heartbeat = time.monotonic()
                busy = await self.step()
                backoff.reset()
            except REDIS_ERRORS as exc:
                wait = backoff.wait()
                logger.warning(
                    "Redis %s: %s; trying again in %.1f s (failing for %.0f s)",
                    safe_url(self.redis_url),
                    exc,
                    wait,
                    backoff.failing_for(),
                )
                await asyncio.sleep(wait)
                continue
            except RedisError:  # e.g. a key of another type: say so, and keep serving
                logger.exception("Node %s: unexpected reply from Redis", self.node)
                await asyncio.sleep(backoff.wait())
                continue
            if not busy:
                await asyncio.sleep(self.poll_seconds)
        await self.hand_back()
        for request in cast(
            list[Request], []
        ):  # an async generator that yields nothing: the engine got them all
            yield request

    async def step(self) -> bool:
        """One look at the frontier; whether it gave work."""
        run, token = await self.redis.run_and_token()
        if token != self.run_token:
            await self.switch_run(run, token)
        if run is None:
            return False
        await self.renew_leases()
        backlog = await self.redis.results_backlog()
        if backlog >= self.max_results:
            self.figures["paused"] += 1
            return False  # the writer is behind: results wait, nothing is trimmed
        taken = 0
        if len(self.leases) < self.max_hosts:
            for host in await self.redis.hosts_with_work(self.max_hosts * 2):
                if len(self.leases) >= self.max_hosts:
                    break
                if host in self.leases or not await self.redis.acquire(
                    host, self.node, self.lease_seconds
                ):
                    continue
                self.leases[host] = time.monotonic()
                for entry_id, fields, deliveries in await self.redis.claim_pending(host, self.node):
                    self.figures["reclaimed"] += 1
                    await self.take(host, entry_id, fields, deliveries)
                    taken += 1
        wanted = {
            host: self.tasks_per_host - self.in_progress[host]
            for host in self.leases
            if self.in_progress[host] < self.tasks_per_host
        }
        got: set[str] = set()
        for host, entry_id, fields in await self.redis.read_tasks(wanted, self.node):
            got.add(host)
            await self.take(host, entry_id, fields, 1)
            taken += 1
        for host in list(self.leases):
            if host not in got and not self.in_progress[host]:
                del self.leases[host]
                await self.redis.release(host, self.node, self.handover_gap)
        return taken > 0

    async def switch_run(self, run: int | None, token: str | None) -> None:
        if self.run is not None:
            logger.info("Node %s: run %s is over", self.node, self.run)
        for host in list(self.leases):
            await self.redis.release(host, self.node, 0)
        self.leases.clear()
        self.run, self.run_token = run, token
        if run is not None:
            logger.info("Node %s: serving run %s", self.node, run)

    async def renew_leases(self) -> None:
        now = time.monotonic()
        due = [
            host for host, renewed in self.leases.items() if now - renewed >= self.lease_seconds / 3
        ]
        if not due:
            return
        lost = await self.redis.renew(due, self.node, self.lease_seconds)
        for host in due:
            if host in lost:
                logger.warning("Node %s lost its lease on %s", self.node, host)
                del self.leases[host]
            else:
                self.leases[host] = now

    async def take(
        self, host: str, entry_id: bytes, fields: dict[bytes, bytes], deliveries: int
    ) -> None:
        """Schedule the request of a task (or, given up or unreadable, complete it at once)."""
        self.in_progress[host] += 1  # until complete() publishes its result
        try:
            task = messages.decode_task(fields.get(b"task", b""))
        except messages.MessageError as exc:
            logger.error("Task %s of %s refused: %s", entry_id, host, exc)
            unreadable = Task(messages.FEED, "", self.run or 0, id=f"unreadable:{entry_id!r}")
            await self.complete(TaskResult(unreadable, host, entry_id))
            return
        if deliveries >= self.max_deliveries:
            await self.complete(self.given_up(task, host, entry_id, deliveries))
            return
        request = self.task_request(task)
        request.meta["newsmon_task"] = (task, host, entry_id)
        request.meta["newsmon_run_token"] = self.run_token
        assert self.crawler.engine is not None
        self.crawler.engine.crawl(request)

    def task_request(self, task: Task) -> Request:
        if task.kind == messages.FEED:
            request: Request = self.feed_request(FeedSource(task.url, task.title, task.category))
            for name, value in task.headers.items():
                request.headers.setdefault(name, value)
            if task.previous_hash:
                request.meta["newsmon_previous_hash"] = task.previous_hash
            # A channel is read back to its newest stored post (the node has no database).
            request.meta["newsmon_newest_post"] = task.newest_post
            return request
        assert task.entry is not None
        return self.article_request(task.url, task.entry)

    def given_up(self, task: Task, host: str, entry_id: bytes, deliveries: int) -> TaskResult:
        """A task that nodes took and never finished, too many times: stored as failed."""
        error = (
            f"given up after {deliveries} deliveries: each node that took {task.url} "
            "stopped before finishing it"
        )
        logger.error("Task %s: %s", task.id, error)
        self.figures["given_up"] += 1
        status = statuses.fetch_failed(NODE_LOST)
        now = iso_utc(time.time())
        result = TaskResult(task, host, entry_id)
        if task.kind == messages.FEED:
            result.items.append(
                FeedItem(
                    task.url,
                    status,
                    task.title,
                    category=task.category,
                    error=error,
                    fetched_at=now,
                )
            )
        else:
            assert task.entry is not None
            url = normalize_url(task.entry.link or task.url)
            result.items.append(
                ArticleItem(
                    url, task.entry, status, error=error, fetched_at=now, requested_urls=[url]
                )
            )
        return result

    # Callbacks: what the feed spider makes of a task, gathered into one result ------------------
    async def parse_feed(self, response: Response, feed: FeedSource) -> AsyncIterator[Any]:
        outputs = [output async for output in super().parse_feed(response, feed)]
        yield self.task_result(response.meta, outputs)

    def feed_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        if not self.handed_back(request):
            yield self.task_result(request.meta, list(super().feed_failed(failure)))

    def parse_article(self, response: Response, entry: Entry) -> Iterator[Any]:
        yield self.task_result(response.meta, list(super().parse_article(response, entry)))

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        if not self.handed_back(request):
            yield self.task_result(request.meta, list(super().article_failed(failure)))

    def handed_back(self, request: Request) -> bool:
        """Whether a failed request's task is left to the next node: once the node is stopping,
        a download that fails may have been cut short by the stop itself."""
        if self.stopping:
            task, host, _entry_id = request.meta["newsmon_task"]
            logger.info("Task %s (%s) handed back unfinished", task.id, host)
        return self.stopping

    @staticmethod
    def task_result(meta: dict[str, Any], outputs: Iterable[Any]) -> TaskResult:
        task, host, entry_id = meta["newsmon_task"]
        result = TaskResult(task, host, entry_id)
        for output in outputs:
            if isinstance(output, Request):
                entry: Entry = output.cb_kwargs["entry"]
                result.follow.append((normalize_url(entry.link or output.url), output.url, entry))
            else:
                result.items.append(output)
        return result

    # Publishing ----------------------------------------------------------------------------
    async def complete(self, result: TaskResult) -> None:
        """Publish a result with its pages to follow, acknowledging its task; on a Redis failure
        try again for ``NEWSMON_REDIS_RETRY_SECONDS``, then leave the task to be taken over."""
        run = result.task.run
        encoded = messages.encode_result(
            Result(
                task=result.task.id,
                run=run,
                node=self.node,
                kind=result.task.kind,
                items=result.items,
                follow=result.follow,
            )
        )
        follow = [
            (
                url,
                host_of(request_url),
                messages.encode_task(Task(messages.ARTICLE, request_url, run, entry=entry)),
            )
            for url, request_url, entry in result.follow
        ]
        try:
            done = await retrying(
                lambda: self.redis.complete(
                    result.host, result.entry_id, self.node, run, encoded, follow
                ),
                self.retry_seconds,
            )
        except REDIS_ERRORS as exc:
            logger.error(
                "Task %s not published (%s): another node will take it over", result.task.id, exc
            )
            return
        finally:  # published, refused or left to be taken over: no longer in progress here
            self.in_progress[result.host] -= 1
            if self.in_progress[result.host] <= 0:
                del self.in_progress[result.host]
        if done:
            self.figures["tasks"] += 1
            self.figures[result.task.kind + "s"] += 1
            self.figures["follow"] += len(follow)
        else:
            self.figures["refused"] += 1
            logger.info("Task %s was taken over by another node: result dropped", result.task.id)

    async def heartbeat(self, stopped: bool = False) -> None:
        seconds = max(time.time() - self.started_at, 1.0)
        await self.redis.heartbeat(
            self.node,
            {
                "last_seen": time.time(),
                "started_at": self.started_at,
                "run": self.run,
                "hosts": len(self.leases),
                "in_progress": sum(self.in_progress.values()),
                "tasks": self.figures["tasks"],
                "feeds": self.figures["feeds"],
                "articles": self.figures["articles"],
                "reclaimed": self.figures["reclaimed"],
                "given_up": self.figures["given_up"],
                "tasks_per_minute": round(self.figures["tasks"] * 60 / seconds, 1),
                "stopped": stopped,
            },
        )

    def request_stop(self) -> None:
        """Stop taking tasks; the loop then gives the leases up."""
        if not self.stopping:
            logger.info("Node %s stopping: handing its hosts over", self.node)
        self.stopping = True

    async def hand_back(self) -> None:
        """Give every lease up at once: the next node to take a host takes over its tasks."""
        try:
            for host in list(self.leases):
                await self.redis.release(host, self.node, 0)
            self.leases.clear()
            await self.heartbeat(stopped=True)
        except REDIS_ERRORS as exc:
            logger.warning(
                "Leases not given up (%s): they expire in %.0f s", exc, self.lease_seconds
            )

    def closed(self, reason: str) -> None:
        assert self.crawler.stats is not None
        for name, value in self.figures.items():
            self.crawler.stats.set_value(f"newsmon/node/{name}", value)


class PublishResultsPipeline:
    """The node's one item pipeline: extracts the pages of a task's result and analyses its
    channel posts in the worker pool (``ExtractPipeline``, ``PostPipeline``, as in a crawl on one
    machine), then publishes the result (``NodeSpider.complete``). A result's items are worked
    on together, at most ``CONCURRENT_ITEMS`` at once, as Scrapy does for a crawl's items: a
    channel's page of posts keeps every worker busy, not one."""

    def __init__(
        self,
        crawler: Crawler,
        extract: ExtractPipeline,
        posts: PostPipeline,
        concurrent_items: int = 16,
    ) -> None:
        self.crawler = crawler
        self.extract = extract
        self.posts = posts
        self.concurrent_items = max(1, concurrent_items)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(
            crawler,
            ExtractPipeline.from_crawler(crawler),
            PostPipeline.from_crawler(crawler),
            crawler.settings.getint("CONCURRENT_ITEMS"),
        )

    async def process_item(self, item: Any) -> Any:
        spider = self.crawler.spider
        if not isinstance(item, TaskResult) or not isinstance(spider, NodeSpider):
            return item
        slots = asyncio.Semaphore(self.concurrent_items)

        async def work_on(each: Any) -> None:
            async with slots:
                await self.extract.process_item(each)
                await self.posts.process_item(each)

        await asyncio.gather(*(work_on(each) for each in item.items))
        await spider.complete(item)
        return item


class StaleTasksMiddleware:
    """Drops the requests of a run that is over (still queued when the next run began): their
    results would be refused anyway. No settings."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        if not isinstance(spider, NodeSpider) or "newsmon_run_token" not in request.meta:
            return
        if request.meta["newsmon_run_token"] != spider.run_token:
            raise IgnoreRequest(f"{request.url}: a task of a run that is over")


class SharedKnownArticlesMiddleware:
    """Never requests a page the writer has stored already: the node's side of
    ``KnownArticlesMiddleware``, against the shared set of known pages in Redis (the writer
    adds only pages it will not fetch again). Settings: ``NEWSMON_REDIS_URL``,
    ``NEWSMON_REDIS_PREFIX``."""

    def __init__(self, frontier: Frontier, stats: StatsCollector) -> None:
        self.frontier = frontier
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(Frontier.from_settings(crawler.settings), crawler.stats)

    async def process_request(self, request: Request) -> None:
        if request.meta.get("newsmon_kind") != "article" or request.meta.get("redirect_times"):
            return
        if await self.frontier.is_known(list(spellings(request.url))):
            self.stats.inc_value("newsmon/articles/known")
            raise KnownArticle(f"{request.url} is stored already")


def node_settings(
    redis_url: str, allow_private: Iterable[str] = (), overrides: dict[str, str] | None = None
) -> Settings:
    """Scrapy settings for a node: the crawl's, without the database's parts."""
    settings = project_settings(allow_private)
    settings.set("NEWSMON_REDIS_URL", redis_url, priority="cmdline")
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares.update(
        {
            "pipeline.downloadermiddlewares.feedschedule.FeedScheduleMiddleware": None,
            "pipeline.downloadermiddlewares.knownarticles.KnownArticlesMiddleware": None,
            "pipeline.cluster.node.StaleTasksMiddleware": 65,
            "pipeline.cluster.node.SharedKnownArticlesMiddleware": 70,
        }
    )
    settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="cmdline")
    settings.set(
        "ITEM_PIPELINES", {"pipeline.cluster.node.PublishResultsPipeline": 300}, priority="cmdline"
    )
    settings.set(
        "EXTENSIONS",
        {
            "pipeline.extensions.looplag.LoopLag": 400,
            "pipeline.extensions.gcpolicy.GarbageCollectionPolicy": 410,
        },
        priority="cmdline",
    )
    settings.set("REMOTE_CONTROL_ENABLED", False, priority="cmdline")  # nothing listens
    settings.update(overrides or {}, priority="cmdline")
    return settings


def run_node(settings: Settings) -> dict[str, Any]:
    """Run a node until SIGTERM or SIGINT; return its stats."""
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NodeSpider)
    process.crawl(crawler)
    stop_seconds = settings.getfloat("NEWSMON_NODE_STOP_SECONDS")
    from twisted.internet import reactor as twisted_reactor

    reactor: Any = twisted_reactor

    def hard_exit() -> None:
        os._exit(0)  # everything unfinished was handed back already

    def force_stop() -> None:
        logger.warning("Node still busy: stopping now, within %.0f s of the signal", stop_seconds)
        if crawler.engine is not None and crawler.engine.spider is not None:
            deferred_from_coro(crawler.engine.close_spider_async(reason="shutdown"))
        reactor.callLater(3, hard_exit)

    def begin_stop() -> None:
        spider = crawler.spider
        if not isinstance(spider, NodeSpider) or spider.stopping:
            hard_exit()  # a second signal, or none started yet
            return
        spider.request_stop()
        reactor.callLater(max(stop_seconds - 3, 1), force_stop)

    def stop(_signum: int, _frame: Any) -> None:
        reactor.callFromThread(begin_stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    process.start(install_signal_handlers=False)
    return crawler.stats.get_stats() if crawler.stats else {}
