"""The extraction pipeline: pages sent to a worker process, and what it decides on the result."""

from __future__ import annotations

import asyncio

from scrapy.utils.test import get_crawler

from pipeline.items import ArticleItem, Entry
from pipeline.parsing.articles import extract_article
from pipeline.pipelines.extraction import ExtractPipeline
from pipeline.workers.pool import WorkerPool
from tests.conftest import fixture_bytes

BASE = "http://news.test"


def page(name: str) -> str:
    return fixture_bytes(f"news/{name}", BASE).decode("utf-8")


def make_pipeline(min_text_chars: int = 200) -> ExtractPipeline:
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    pool = WorkerPool(
        "pipeline.workers.crawl_tasks:run", 1, timeout=20
    )  # started by the tests that use it
    return ExtractPipeline(crawler.stats, pool, min_text_chars=min_text_chars)


def fetched(name: str) -> ArticleItem:
    entry = Entry(feed_url=f"{BASE}/f", link=f"{BASE}/news/{name}", title="Feed title", language="en",
                  published="2022-09-25T08:30:00Z")  # fmt: skip
    return ArticleItem(url=f"{BASE}/news/{name}", entry=entry, status="fetched",
                       body=page(name).encode(), content_type="text/html; charset=utf-8")  # fmt: skip


def test_short_text_is_no_text_with_the_reason() -> None:
    pipeline = make_pipeline()
    item = fetched("empty.html")
    pipeline.apply(item, extract_article(page("empty.html"), item.url))
    assert (item.status, item.text) == ("no_text", None)
    assert item.error and "too short" in item.error
    assert item.title == "Photo gallery"
    assert item.language == "en"  # the feed's, not a guess from ten characters


def test_feed_date_wins_over_the_page_date() -> None:
    pipeline = make_pipeline()
    item = fetched("en-study.html")
    pipeline.apply(item, extract_article(page("en-study.html"), item.url))
    assert item.status == "ok"
    assert item.published == "2022-09-25T08:30:00Z"


def test_the_page_date_is_read_only_for_an_undated_entry() -> None:
    assert extract_article(page("en-border.html"), BASE, read_date=False)["date"] is None  # type: ignore[index]
    pipeline = make_pipeline()
    pipeline.pool.start()
    dated, undated = fetched("en-border.html"), fetched("en-border.html")
    undated.entry.published = None

    async def process(item: ArticleItem) -> ArticleItem:
        result: ArticleItem = await pipeline.process_item(item)
        return result

    try:
        assert asyncio.run(process(dated)).published == "2022-09-25T08:30:00Z"
        assert asyncio.run(process(undated)).published == "2022-09-25T00:00:00Z"
    finally:
        pipeline.pool.close()


def test_pipeline_extracts_in_a_worker_process_and_frees_the_page() -> None:
    pipeline = make_pipeline()
    pipeline.pool.start()
    try:
        item = fetched("uk-grain.html")

        async def process() -> ArticleItem:
            result: ArticleItem = await pipeline.process_item(item)
            return result

        result = asyncio.run(process())
    finally:
        pipeline.pool.close()
    assert result.status == "ok"
    assert result.body is None
    assert result.language == "uk"
    assert result.text and "Порти Одеської області" in result.text
