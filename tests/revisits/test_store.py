"""RevisionWriter, through the store: versions, removals, returns, and kill safety."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from pipeline import statuses
from pipeline.db.connection import open_db
from pipeline.items import ArticleItem, Entry, Revisit
from pipeline.pipelines.store import SQLitePipeline
from pipeline.text.fingerprints import fingerprint

URL = "http://news.test/news/border.html"
FEED = "http://news.test/feed.rss"
TITLE = "Queues at the Kazakh border"
TEXT = "Queues at the Kazakh border grew to five kilometres on Sunday morning. " * 6
EDITED = TEXT + "\nThe border service denied the reports of closures."


def make_store(
    db_path: Path, on_fatal: Callable[[str], None] | None = None
) -> tuple[SQLitePipeline, MemoryStatsCollector]:
    stats = MemoryStatsCollector(get_crawler())
    store = SQLitePipeline(str(db_path), stats, batch_size=1, batch_seconds=3600, on_fatal=on_fatal)
    store.open_spider()
    return store, stats


def item(
    status: str = statuses.OK, title: str = TITLE, text: str | None = TEXT, **kw: Any
) -> ArticleItem:
    entry = Entry(feed_url=FEED, link=URL, title=TITLE)
    article = ArticleItem(url=URL, entry=entry, status=status, title=title, text=text,
                          requested_urls=[URL], fetched_at="2022-09-25T08:00:00Z", **kw)  # fmt: skip
    if text and status == statuses.OK:
        article.fingerprints = fingerprint(title, text)
        article.story_index_terms = article.fingerprints.story_terms[:12]
    return article


def revisit_of(first: ArticleItem, removed: bool = False) -> ArticleItem:
    revisit = Revisit(article_id=1, url=URL, feed_url=FEED, removed=removed, steps_done=1)
    return dataclasses.replace(first, revisit=revisit, fetched_at="2022-09-26T08:00:00Z")


def rows(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_db(db_path) as db:
        return [tuple(row) for row in db.execute(sql).fetchall()]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "news.db"
    store, _ = make_store(path)
    store.process_item(item(etag='"v1"'))
    store.close_spider()
    return path


def test_an_edit_keeps_the_earlier_version_once(db_path: Path) -> None:
    store, stats = make_store(db_path)
    edit = revisit_of(item(title="Border closed", text=EDITED, etag='"v2"'))
    store.process_item(edit)
    store.process_item(revisit_of(item(title="Border closed", text=EDITED, etag='"v2"')))  # rerun
    store.close_spider()
    assert rows(db_path, "select version, title, text, fetched_at from article_versions") == [
        (1, TITLE, TEXT, "2022-09-25T08:00:00Z")
    ]
    assert rows(db_path, "select version, title, text, etag, revisits, url from articles") == [
        (2, "Border closed", EDITED, '"v2"', 1, URL)
    ]
    assert rows(db_path, "select kind, version from article_changes") == [("edited", 2)]
    assert stats.get_value("newsmon/revisits/edited") == 1
    assert stats.get_value("newsmon/revisits/unchanged") == 1
    # The search indexes, the text hash and the story terms follow the new text.
    assert rows(db_path, "select rowid from articles_fts where articles_fts match 'denied'") == [
        (1,)
    ]
    assert rows(db_path, "select count(*) from articles_search where text match 'deni*'") == [(1,)]
    assert rows(db_path, "select text_hash from articles") == [(fingerprint("", EDITED).text_hash,)]
    buckets = {bucket for (bucket,) in rows(db_path, "select bucket from near_dup_buckets")}
    assert buckets == set(fingerprint("Border closed", EDITED).buckets)
    assert rows(db_path, "select article_id from watchlist_queue") == [(1,)]


def test_unchanged_pages_add_only_the_time_of_the_check(db_path: Path) -> None:
    store, stats = make_store(db_path)
    store.process_item(revisit_of(item(status=statuses.NOT_MODIFIED, text=None)))
    spaced = TEXT.replace(". ", ".  ") + "\n1 234 views"
    store.process_item(revisit_of(item(text=spaced)))
    store.close_spider()
    assert rows(db_path, "select count(*) from article_versions") == [(0,)]
    assert rows(db_path, "select version, text, last_checked_at is not null from articles") == [
        (1, TEXT, 1)
    ]
    assert stats.get_value("newsmon/revisits/not_modified") == 1
    assert stats.get_value("newsmon/revisits/unchanged") == 1


def test_a_removal_keeps_the_text_and_a_return_clears_it(db_path: Path) -> None:
    store, stats = make_store(db_path)
    gone = revisit_of(item(status=statuses.fetch_failed(410), text=None, error="HTTP 410"))
    store.process_item(gone)
    store.process_item(gone)  # seen again: still removed, not removed twice
    removed = rows(db_path, "select removed_at is not null, removed_status, text from articles")
    assert removed == [(1, "fetch_failed:410", TEXT)]
    store.process_item(revisit_of(item(), removed=True))
    no_text = revisit_of(item(status=statuses.NO_TEXT, text=None))
    store.process_item(no_text)  # a page without its text now: neither edited nor removed
    store.close_spider()
    assert rows(db_path, "select removed_at, removed_status, text, version from articles") == [
        (None, None, TEXT, 1)
    ]
    assert rows(db_path, "select kind, status, detail from article_changes order by id") == [
        ("removed", "fetch_failed:410", "HTTP 410"),
        ("returned", "ok", None),
    ]
    assert stats.get_value("newsmon/revisits/still_removed") == 1
    assert stats.get_value("newsmon/revisits/unreadable") == 1


def test_a_killed_batch_leaves_no_half_written_version(db_path: Path) -> None:
    closed: list[str] = []
    store, _ = make_store(db_path, on_fatal=closed.append)
    store.db.execute(
        "CREATE TRIGGER fail BEFORE INSERT ON article_changes BEGIN SELECT RAISE(ABORT, 'kill'); END"
    )
    store.process_item(revisit_of(item(title="Border closed", text=EDITED)))
    store.db.execute("DROP TRIGGER fail")
    store.close_spider()
    assert closed == ["database_error"]
    assert rows(db_path, "select count(*) from article_versions") == [(0,)]
    assert rows(db_path, "select version, title, text, revisits from articles") == [
        (1, TITLE, TEXT, 0)
    ]
    # The next run finds the edit again and stores it once.
    store, _ = make_store(db_path)
    store.process_item(revisit_of(item(title="Border closed", text=EDITED)))
    store.close_spider()
    assert rows(db_path, "select count(*) from article_versions") == [(1,)]
