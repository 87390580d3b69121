"""The node's pieces that need no Redis: what a task's outputs become, tasks given up, and the
settings a node and a coordinator run with."""

from __future__ import annotations

from scrapy import Request
from scrapy.settings import Settings

from pipeline import statuses
from pipeline.cluster import messages
from pipeline.cluster.coordinator import CoordinatorSpider, crawl_spider
from pipeline.cluster.messages import Task
from pipeline.cluster.node import NodeSpider, TaskResult, host_of, node_settings
from pipeline.downloadermiddlewares.knownarticles import is_final
from pipeline.items import ArticleItem, Entry, FeedItem

FEED_URL = "https://news.example.kz/rss"


def entry(link: str | None) -> Entry:
    return Entry(feed_url=FEED_URL, link=link, guid=link, title="Заголовок")


def test_a_task_s_outputs_become_one_result_with_the_pages_to_follow() -> None:
    spider = NodeSpider()
    task = Task(messages.FEED, FEED_URL, 1)
    feed = FeedItem(FEED_URL, statuses.OK)
    no_link = ArticleItem("urn:newsmon:entry:x", entry(None), statuses.NO_LINK)
    page = Request(
        "https://other.example.org/статья?utm_source=rss",
        cb_kwargs={"entry": entry("https://other.example.org/статья?utm_source=rss")},
    )
    meta = {"newsmon_task": (task, "news.example.kz", b"1-0")}
    result = spider.task_result(meta, [feed, no_link, page])
    assert result.items == [feed, no_link]
    [(url, request_url, followed)] = result.follow
    assert url == "https://other.example.org/статья"  # as the store keys it
    assert request_url == page.url  # as Scrapy sends it
    assert host_of(request_url) == "other.example.org"
    assert followed.link == "https://other.example.org/статья?utm_source=rss"


def test_a_task_that_keeps_killing_nodes_is_stored_as_given_up() -> None:
    spider = NodeSpider()
    article = Task(
        messages.ARTICLE, "https://news.example.kz/1", 1, entry=entry("https://news.example.kz/1")
    )
    result = spider.given_up(article, "news.example.kz", b"1-0", 3)
    assert isinstance(result, TaskResult)
    [item] = result.items
    assert isinstance(item, ArticleItem)
    assert item.status == "fetch_failed:node_lost"
    assert item.error is not None and "given up after 3 deliveries" in item.error
    assert is_final(item.status, 1, 3)  # not fetched again by the next run
    feed = spider.given_up(
        Task(messages.FEED, FEED_URL, 1, title="Вестник"), "news.example.kz", b"2-0", 3
    )
    [feed_item] = feed.items
    assert isinstance(feed_item, FeedItem)
    assert (feed_item.status, feed_item.title) == ("fetch_failed:node_lost", "Вестник")


def test_a_node_reads_no_database_and_listens_nowhere() -> None:
    settings = node_settings("redis://127.0.0.1:6379/0", ["127.0.0.1"], {"DOWNLOAD_DELAY": "2"})
    middlewares = settings.getdict("DOWNLOAD_MIDDLEWARES") | settings.getdict(
        "DOWNLOADER_MIDDLEWARES"
    )
    assert middlewares["pipeline.downloadermiddlewares.feedschedule.FeedScheduleMiddleware"] is None
    assert (
        middlewares["pipeline.downloadermiddlewares.knownarticles.KnownArticlesMiddleware"] is None
    )
    assert middlewares["pipeline.cluster.node.SharedKnownArticlesMiddleware"] == 70
    assert middlewares["pipeline.downloadermiddlewares.addressguard.AddressGuardMiddleware"] == 50
    assert list(settings.getdict("ITEM_PIPELINES")) == [
        "pipeline.cluster.node.PublishResultsPipeline"
    ]
    assert "pipeline.extensions.runlog.RunLog" not in settings.getdict("EXTENSIONS")
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")
    assert not settings.getbool("TELNETCONSOLE_ENABLED")
    assert settings.getlist("NEWSMON_ALLOW_PRIVATE") == ["127.0.0.1"]
    assert settings.getfloat("DOWNLOAD_DELAY") == 2


def test_a_crawl_with_redis_is_the_coordinator() -> None:
    one_machine = Settings()
    one_machine.setmodule("pipeline.settings")
    assert crawl_spider(one_machine) == "feeds"
    cluster = Settings()
    cluster.setmodule("pipeline.settings")
    cluster.set("NEWSMON_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert crawl_spider(cluster) is CoordinatorSpider
    assert list(cluster.getdict("ITEM_PIPELINES")) == ["pipeline.cluster.coordinator.ClusterStore"]
    assert "pipeline.extensions.runlog.RunLog" in cluster.getdict("EXTENSIONS")
    assert not cluster.getbool("REMOTE_CONTROL_ENABLED")


def test_a_channel_task_is_read_back_to_the_newest_post_the_writer_stored() -> None:
    from pipeline.downloadermiddlewares.channelstate import ChannelStateMiddleware

    spider = NodeSpider()
    task = Task(messages.FEED, "https://t.me/s/steppe_news", 1, newest_post=1042)
    request = spider.task_request(task)
    # The node's own lookup (it has no database) does not undo what the task says.
    ChannelStateMiddleware("/nonexistent/news.db").process_request(request)
    assert request.meta["newsmon_newest_post"] == 1042
    assert request.meta["dont_retry"]  # t.me's 429s back the feed off instead


def test_a_node_analyses_channel_posts_before_publishing_them() -> None:
    import asyncio
    from typing import Any

    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.test import get_crawler

    from pipeline.cluster.node import PublishResultsPipeline
    from pipeline.parsing.posts import analyse_post
    from pipeline.pipelines.posts import PostPipeline

    class WorkersHere:
        busy = most_busy = 0

        async def run(self, task: str, *args: Any) -> Any:
            assert task == "analyse_post"
            self.busy += 1
            self.most_busy = max(self.most_busy, self.busy)
            await asyncio.sleep(0)  # the others start meanwhile, up to the limit
            self.busy -= 1
            return analyse_post(*args)

    class NoPages:
        async def process_item(self, item: Any) -> Any:
            return item

    published: list[TaskResult] = []

    class Node(NodeSpider):
        async def complete(self, result: TaskResult) -> None:
            published.append(result)

    crawler = get_crawler()
    crawler.spider = Node()
    stats = MemoryStatsCollector(crawler)
    workers = WorkersHere()
    posts = PostPipeline(stats, workers)  # type: ignore[arg-type]
    pipeline = PublishResultsPipeline(crawler, NoPages(), posts, 2)  # type: ignore[arg-type]
    post = ArticleItem(
        "https://t.me/steppe_news/1043",
        entry("https://t.me/steppe_news/1043"),
        statuses.FETCHED,
        title="На границе с Казахстаном выросли очереди",
        text=(
            "На границе с Казахстаном выросли очереди из легковых машин, сообщают пограничники. "
            "В пункте пропуска Маштаков ждать приходится больше суток, люди ночуют в машинах, "
            "волонтёры раздают воду и еду, а местные жители предлагают жильё приезжим."
        ),
    )
    result = TaskResult(Task(messages.FEED, "https://t.me/s/steppe_news", 1), "t.me", b"1-0")
    others = [
        ArticleItem(
            f"https://t.me/steppe_news/{number}",
            entry(f"https://t.me/steppe_news/{number}"),
            statuses.FETCHED,
            text=f"Пост номер {number}: очереди на границе не уменьшаются.",
        )
        for number in range(1044, 1048)
    ]
    result.items += [post, *others]
    asyncio.run(pipeline.process_item(result))
    assert published == [result]
    assert post.status == statuses.OK
    assert post.language == "ru"
    assert post.fingerprints is not None and post.text_stems is not None
    assert all(each.status == statuses.OK for each in others)
    assert workers.most_busy == 2  # analysed together, CONCURRENT_ITEMS at most
