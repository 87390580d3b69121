"""The extraction pipeline: pages sent to a worker process, and what it decides on the result."""

from __future__ import annotations

import asyncio
import subprocess
import sys

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


def test_an_undated_entry_takes_the_page_date_in_a_worker() -> None:
    pipeline = make_pipeline()
    pipeline.pool.start()
    dated, undated = fetched("en-zoned-agency.html"), fetched("en-zoned-agency.html")
    undated.entry.published = None

    async def process(item: ArticleItem) -> ArticleItem:
        result: ArticleItem = await pipeline.process_item(item)
        return result

    try:
        assert asyncio.run(process(dated)).published == "2022-09-25T08:30:00Z"
        item = asyncio.run(process(undated))
    finally:
        pipeline.pool.close()
    assert item.published == "2024-03-05T05:30:00Z"
    assert item.modified == "2024-03-05T07:05:00Z"
    assert (item.author, item.credits) == ("Dana Serikova", "Reuters")


def test_no_main_text_keeps_the_pages_metadata() -> None:
    pipeline = make_pipeline()
    item = fetched("en-video-only.html")
    item.entry.published, item.entry.title = None, None
    pipeline.apply(item, extract_article(page("en-video-only.html"), item.url))
    assert (item.status, item.text) == ("no_text", None)
    assert item.error and "too short" in item.error
    assert item.title == "Watch: the first ferry leaves Aktau"
    assert item.published == "2024-03-05T06:45:00Z"
    assert item.author == "Dana Serikova"


def test_a_short_wire_item_is_kept() -> None:
    pipeline = make_pipeline()
    item = fetched("en-wire-short.html")
    pipeline.apply(item, extract_article(page("en-wire-short.html"), item.url))
    assert item.status == "ok"
    assert item.text and item.text.startswith("ALMATY, March 5 (Reuters)")
    assert (item.author, item.credits) == (None, "REUTERS")


def test_a_feed_that_stamps_every_entry_with_one_instant_gives_way_to_the_page() -> None:
    pipeline = make_pipeline()
    items = [fetched("en-zoned-agency.html"), fetched("ru-local-time.html")]
    for item in items:
        item.entry.published = "2024-03-06T12:00:00Z"  # the time the feed was generated
        pipeline.apply(item, extract_article(page(item.url.rsplit("/", 1)[1]), item.url))
    # The second entry with the same instant gives the feed away.
    assert items[1].published == "2024-03-05T14:20:00"
    # The first was read before that, but was fetched minutes after that instant.
    first = fetched("kk-teasers.html")
    first.entry.feed_url = f"{BASE}/other-feed"
    first.entry.published, first.fetched_at = "2024-03-06T12:00:00Z", "2024-03-06T12:03:00Z"
    pipeline.apply(first, extract_article(page("kk-teasers.html"), first.url))
    assert first.published == "2024-03-05"


def test_the_title_agrees_with_the_feed_and_the_feed_author_is_split() -> None:
    pipeline = make_pipeline()
    item = fetched("uk-midnight-split.html")
    item.entry.title = "Львівські трамваї отримають нові вагони"
    item.entry.author = "Олена Коваль, Укрінформ"
    result = extract_article(page("uk-midnight-split.html"), item.url)
    assert result is not None
    result["credits"] = None  # as if the page named nobody
    pipeline.apply(item, result)
    assert item.title == "Львівські трамваї отримають нові вагони"
    assert (item.author, item.credits) == ("Олена Коваль", "Укрінформ")
    other = fetched("kk-teasers.html")
    other.entry.title = "Жаңалықтар"  # the feed's title is not one the page gives
    pipeline.apply(other, extract_article(page("kk-teasers.html"), other.url))
    assert other.title == "Алматыда жаңа саябақ ашылды"


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


def test_the_crawl_process_does_not_load_the_workers_extraction_libraries() -> None:
    probe = (
        "import sys, pipeline.pipelines.extraction, pipeline.pipelines.store; "
        "print(sorted({'trafilatura', 'htmldate', 'justext'} & sys.modules.keys()))"
    )
    command = [sys.executable, "-c", probe]
    loaded = subprocess.run(command, capture_output=True, text=True, check=False)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == "[]\n"
