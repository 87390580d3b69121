"""The post pipeline: a Telegram post's text analysed in a worker, without extraction."""

from __future__ import annotations

import asyncio

from scrapy.utils.test import get_crawler

from pipeline.items import ArticleItem, Entry
from pipeline.parsing.posts import analyse_post
from pipeline.pipelines.posts import PostPipeline, is_post
from pipeline.workers.pool import WorkerPool

TEXT = (
    "Қазақстанда биыл астық өнімі рекордтық деңгейге жетті. Ауыл шаруашылығы министрлігінің "
    "мәліметінше, елде жиырма бес миллион тоннадан астам астық жиналды."
)


def post(text: str | None, status: str = "fetched") -> ArticleItem:
    entry = Entry(feed_url="https://t.me/s/steppe_news", link="https://t.me/steppe_news/92")
    return ArticleItem(url=entry.link or "", entry=entry, status=status, text=text, title="T")


def test_a_post_is_analysed_in_a_worker_process_with_no_minimum_length() -> None:
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    pool = WorkerPool("pipeline.workers.crawl_tasks:run", 1, timeout=20)
    pipeline = PostPipeline(crawler.stats, pool)
    pool.start()
    try:
        item = asyncio.run(pipeline.process_item(post(TEXT)))
        short = asyncio.run(pipeline.process_item(post("Алматыда қар жауды. Қала ақ.")))
    finally:
        pool.close()
    assert (item.status, item.language) == ("ok", "kk")
    assert item.fingerprints is not None and item.text_stems is not None
    assert item.text_stems[0] != "other"
    assert short.status == "ok" and short.text == "Алматыда қар жауды. Қала ақ."
    assert crawler.stats.get_value("newsmon/posts/analysed") == 2


def test_only_posts_are_taken() -> None:
    assert is_post(post(TEXT))
    assert not is_post(post(None, status="no_text"))  # a photo alone
    page = post(None)
    page.body = b"<html></html>"
    assert not is_post(page)
    assert not is_post(object())


def test_the_analysis_matches_what_extraction_computes() -> None:
    result = analyse_post("T", TEXT)
    assert result["language"] == "kk"
    assert result["text_stems"][1]
