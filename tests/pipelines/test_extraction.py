"""Extraction: the worker function on fixture pages, and the pipeline's decisions."""

from __future__ import annotations

import asyncio

import pytest
from scrapy.utils.test import get_crawler

from pipeline.items import ArticleItem, Entry
from pipeline.parsing.articles import extract_article
from pipeline.pipelines.extraction import ExtractPipeline
from pipeline.text.language import detect_language
from pipeline.text.stemming import group_for, stem_text
from pipeline.workers.pool import WorkerPool
from tests.conftest import fixture_bytes

BASE = "http://news.test"


def page(name: str) -> str:
    return fixture_bytes(f"news/{name}", BASE).decode("utf-8")


def test_extracts_body_paragraphs_and_metadata() -> None:
    result = extract_article(page("en-border.html"), f"{BASE}/news/en-border.html")
    assert result is not None
    text = result["text"]
    assert text.count("\n") >= 4  # paragraphs are kept apart
    assert "Hundreds of cars stood in a line" in text
    assert "would look for remote work in the meantime." in text
    for boilerplate in ("All rights reserved", "Markets close higher", "About us"):
        assert boilerplate not in text
    assert result["title"] == "Queues grow at the Kazakh border as men leave Russia"
    assert result["author"] == "Dana Serikova"
    assert result["date"] == "2022-09-25"
    assert detect_language(text) == "en"
    assert result["site_name"] == "Steppe Courier"
    assert result["canonical_url"] == f"{BASE}/news/en-border.html"
    assert result["image"] == f"{BASE}/img/en-border.jpg"
    assert result["description"].startswith("Hundreds of cars")


@pytest.mark.parametrize(
    ("name", "language", "phrase"),
    [
        ("ru-border.html", "ru", "выстроилась очередь из автомобилей"),
        ("uk-grain.html", "uk", "відновили відвантаження зерна"),
    ],
)
def test_cyrillic_pages(name: str, language: str, phrase: str) -> None:
    result = extract_article(page(name), f"{BASE}/news/{name}")
    assert result is not None
    assert phrase in result["text"]
    assert result["language"] == language
    group = group_for(language)
    assert result["text_stems"] == (group, stem_text(result["text"], group))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Мужчины призывного возраста пытаются выехать из страны.", "ru"),
        ("Қазақстан шекарасында кезек ұзарды. Ресейден келгендер саны өсті.", "kk"),
        ("Одеські порти відновили відвантаження зерна.", "uk"),
        ("Queues grow at the Kazakh border\x03 as men leave\ufffe Russia.\ud800", "en"),
        ("בירושלים נפתח היום כנס בינלאומי על מים", "he"),  # CLD2 says "iw"
        ("12345 — 67 890", None),
        ("", None),
    ],
)
def test_language_detection(text: str, language: str | None) -> None:
    assert detect_language(text) == language


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
