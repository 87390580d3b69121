"""The SQLite pipeline: rows, sightings, conflicts, and that nothing stored is lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from pipeline.db.connection import open_db
from pipeline.items import ArticleItem, Entry, FeedItem
from pipeline.pipelines.store import SQLitePipeline

BASE = "http://news.test"
FEED = f"{BASE}/feeds/world.rss"
OTHER_FEED = f"{BASE}/feeds/other.rss"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "news.db"


def make_store(db_path: Path, batch_size: int = 100) -> SQLitePipeline:
    stats = MemoryStatsCollector(get_crawler())
    store = SQLitePipeline(str(db_path), stats, batch_size=batch_size, batch_seconds=3600)
    store.open_spider()
    return store


def article(
    url: str, status: str = "ok", feed: str = FEED, text: str | None = None, **kw: str
) -> ArticleItem:
    entry = Entry(feed_url=feed, link=kw.pop("link", url), guid=kw.pop("guid", url), title="Entry title",
                  summary="Summary", published="2022-09-25T08:30:00Z")  # fmt: skip
    if status == "ok" and text is None:
        text = "Body text about the border crossing. " * 10
    return ArticleItem(url=url, entry=entry, status=status, text=text, title=kw.get("title"),
                       requested_urls=[url])  # fmt: skip


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    db = open_db(db_path)
    try:
        return [tuple(r) for r in db.execute(sql).fetchall()]
    finally:
        db.close()


def test_feed_and_article_rows(db_path: Path) -> None:
    store = make_store(db_path)
    store.process_item(
        FeedItem(url=FEED, status="ok", title="World", entries=3, fetched_at="2024-01-01T00:00:00Z")
    )
    store.process_item(article(f"{BASE}/a", title="Page title"))
    store.close_spider()
    assert rows(db_path, "select url, title, last_status, last_ok_at from feeds") == [
        (FEED, "World", "ok", "2024-01-01T00:00:00Z")
    ]
    assert rows(db_path, "select url, title, summary, status, published from articles") == [
        (f"{BASE}/a", "Page title", "Summary", "ok", "2022-09-25T08:30:00Z")
    ]
    assert rows(db_path, "select feed_id, article_id, guid, link from entries") == [
        (1, 1, f"{BASE}/a", f"{BASE}/a")
    ]


def test_people_credits_dates_and_metadata_without_text(db_path: Path) -> None:
    store = make_store(db_path)
    store.process_item(FeedItem(url=FEED, status="ok"))
    page = article(f"{BASE}/a", status="no_text", title="Watch: the ferry leaves")
    page.author, page.credits = "Dana Serikova", "Reuters"
    page.published, page.modified = "2024-03-05", "2024-03-05T07:05:00Z"
    store.process_item(page)
    feed_only = article(f"{BASE}/b")
    feed_only.entry.author = "Иван Петров, ТАСС"
    store.process_item(feed_only)
    store.close_spider()
    assert rows(
        db_path, "select url, status, title, author, credits, published, modified from articles"
    ) == [
        (f"{BASE}/a", "no_text", "Watch: the ferry leaves", "Dana Serikova", "Reuters",
         "2024-03-05", "2024-03-05T07:05:00Z"),
        (f"{BASE}/b", "ok", "Entry title", "Иван Петров", "ТАСС", "2022-09-25T08:30:00Z", None),
    ]  # fmt: skip


def test_second_run_adds_no_rows(db_path: Path) -> None:
    for _ in range(2):
        store = make_store(db_path)
        store.process_item(FeedItem(url=FEED, status="ok"))
        store.process_item(article(f"{BASE}/a"))
        store.process_item(article(f"{BASE}/b", status="fetch_failed:404"))
        store.close_spider()
    assert rows(db_path, "select count(*) from articles") == [(2,)]
    assert rows(db_path, "select count(*) from entries") == [(2,)]
    assert rows(db_path, "select count(*) from feeds") == [(1,)]


def test_a_failure_never_overwrites_a_stored_text(db_path: Path) -> None:
    store = make_store(db_path)
    store.process_item(article(f"{BASE}/a", text="The original body. " * 20))
    store.close_spider()
    store = make_store(db_path)
    store.process_item(article(f"{BASE}/a", status="fetch_failed:503"))
    store.close_spider()
    assert rows(db_path, "select status, substr(text, 1, 18) from articles") == [
        ("ok", "The original body.")
    ]


def test_text_replaces_an_earlier_failure(db_path: Path) -> None:
    store = make_store(db_path, batch_size=1)
    store.process_item(article(f"{BASE}/a", status="fetch_failed:503"))
    store.process_item(article(f"{BASE}/a"))
    store.close_spider()
    assert rows(db_path, "select status from articles") == [("ok",)]


def test_sighting_before_its_article_is_linked_once_the_article_arrives(db_path: Path) -> None:
    store = make_store(db_path, batch_size=1)
    seen = article(f"{BASE}/a", status="seen", feed=OTHER_FEED, link=f"{BASE}/a?utm_source=x")
    store.process_item(seen)
    assert rows(db_path, "select count(*) from entries") == [(0,)]
    store.process_item(article(f"{BASE}/a"))
    store.close_spider()
    assert rows(db_path, "select count(*) from articles") == [(1,)]
    assert rows(
        db_path,
        "select f.url, e.link from entries e join feeds f on f.id = e.feed_id order by e.id",
    ) == [
        (FEED, f"{BASE}/a"),
        (OTHER_FEED, f"{BASE}/a?utm_source=x"),
    ]


def test_sighting_of_a_redirected_article_follows_the_requested_url(db_path: Path) -> None:
    store = make_store(db_path, batch_size=1)
    moved = article(f"{BASE}/final")
    moved.requested_urls = [f"{BASE}/old"]
    store.process_item(moved)
    store.close_spider()
    store = make_store(db_path)
    store.process_item(article(f"{BASE}/old", status="seen", feed=OTHER_FEED))
    store.close_spider()
    assert rows(db_path, "select count(*), count(distinct article_id) from entries") == [(2, 1)]


def test_unresolved_sighting_is_kept_as_an_entry(db_path: Path) -> None:
    store = make_store(db_path)
    store.process_item(article(f"{BASE}/lost", status="seen"))
    store.close_spider()
    assert rows(db_path, "select url, status from articles") == [(f"{BASE}/lost", "not_fetched")]
    assert rows(db_path, "select count(*) from entries") == [(1,)]


def test_full_text_search_follows_inserts_and_updates(db_path: Path) -> None:
    store = make_store(db_path, batch_size=1)
    store.process_item(article(f"{BASE}/a", status="fetch_failed:503"))
    store.process_item(article(f"{BASE}/a", text="Мобилизация и очереди на границе. " * 10))
    store.close_spider()
    found = rows(db_path, "select rowid from articles_fts where articles_fts match 'очереди'")
    assert found == [(1,)]


def test_new_articles_are_indexed_by_the_store_in_its_batch(db_path: Path) -> None:
    store = make_store(db_path, batch_size=3)
    store.process_item(article(f"{BASE}/a", text="Queues at the Kazakh border. " * 10))
    store.process_item(article(f"{BASE}/b", status="fetch_failed:503"))
    store.process_item(article(f"{BASE}/c", text="Grain shipments resumed in Odesa. " * 10))
    store.process_item(article(f"{BASE}/b", text="Mobilisation and the border. " * 10))
    store.close_spider()
    match = "select rowid from articles_fts where articles_fts match '{}' order by rowid"
    assert rows(db_path, match.format("border")) == [(1,), (2,)]
    assert rows(db_path, match.format("odesa")) == [(3,)]
    triggers = "select name from sqlite_master where type = 'trigger' and tbl_name = 'articles'"
    assert "articles_ai" not in {name for (name,) in rows(db_path, triggers)}
    # The index agrees with the articles table, row for row (FTS5 checks it).
    rows(db_path, "insert into articles_fts (articles_fts, rank) values ('integrity-check', 1)")


def test_failed_write_stops_the_crawl_and_keeps_what_was_stored(db_path: Path) -> None:
    closed: list[str] = []
    stats = MemoryStatsCollector(get_crawler())
    store = SQLitePipeline(
        str(db_path), stats, batch_size=1, batch_seconds=3600, on_fatal=closed.append
    )
    store.open_spider()
    store.process_item(article(f"{BASE}/a"))
    store.db.execute(
        "CREATE TRIGGER no_more BEFORE INSERT ON articles BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    store.process_item(article(f"{BASE}/b"))
    store.close_spider()
    assert closed == ["database_error"]
    assert stats.get_value("newsmon/db_errors") == 1
    assert rows(db_path, "select url from articles") == [(f"{BASE}/a",)]


def test_stats_count_each_outcome(db_path: Path) -> None:
    store = make_store(db_path)
    store.process_item(FeedItem(url=FEED, status="ok"))
    store.process_item(FeedItem(url=OTHER_FEED, status="fetch_failed:500"))
    store.process_item(article(f"{BASE}/a"))
    store.process_item(article(f"{BASE}/b", status="refused:private"))
    store.close_spider()
    stats = store.stats.get_stats()
    assert stats["newsmon/feeds/ok"] == 1
    assert stats["newsmon/feeds/failed"] == 1
    assert stats["newsmon/feeds/status/fetch_failed:500"] == 1
    assert stats["newsmon/articles/new"] == 2
    assert stats["newsmon/articles/status/refused:private"] == 1


def test_validators_are_kept_only_when_the_crawl_finished_and_stored_everything(
    db_path: Path,
) -> None:
    def run(reason: str, lose_a_batch: bool = False) -> tuple[object, ...]:
        store = make_store(db_path)
        store.process_item(FeedItem(url=FEED, status="ok", etag='"v1"', body_hash="h1"))
        store.close_spider()
        if lose_a_batch:
            store.stats.inc_value("newsmon/db_errors")
        store.spider_closed(reason)
        return rows(db_path, "select etag, body_hash from feeds")[0]

    assert run("shutdown") == (None, None)
    assert run("finished", lose_a_batch=True) == (None, None)
    assert run("finished") == ('"v1"', "h1")


def test_a_second_fetch_of_a_stored_article_is_a_sighting_not_a_rewrite(db_path: Path) -> None:
    """Another feed's link redirected onto an article stored with its text (in this run or an
    earlier one): the row keeps its headline, text and metadata, the feed's entry is added, and
    an edit is left to the revisits."""
    store = make_store(db_path, batch_size=1)
    store.process_item(article(f"{BASE}/a", title="Original headline", text="First body. " * 30))
    other = article(f"{BASE}/a", feed=OTHER_FEED, text="Other body. " * 30)
    other.entry.summary, other.requested_urls = None, [f"{BASE}/old-link"]
    store.process_item(other)
    store.close_spider()
    assert rows(db_path, "select title, summary, substr(text, 1, 11) from articles") == [
        ("Original headline", "Summary", "First body.")
    ]
    assert rows(db_path, "select count(*), count(distinct article_id) from entries") == [(2, 1)]
    assert rows(db_path, "select url from entries order by id") == [
        (f"{BASE}/a",),
        (f"{BASE}/old-link",),
    ]
    assert store.stats.get_value("newsmon/articles/fetched_again") == 1
    assert rows(db_path, "select count(*) from article_changes") == [(0,)]


def test_a_copy_whose_original_was_never_stored_is_kept_when_the_crawl_closes(
    db_path: Path,
) -> None:
    """A copy waits for its original's row; if the original's batch was lost, closing keeps the
    copy's entry on its own (to be fetched again) instead of waiting for ever."""
    store = make_store(db_path)
    copy = article(f"{BASE}/copy")
    copy.same_as_url = f"{BASE}/lost-original"
    store.process_item(copy)
    store.close_spider()
    assert rows(db_path, "select url, status from articles") == [(f"{BASE}/copy", "not_fetched")]
    assert rows(db_path, "select count(*) from entries") == [(1,)]


def test_ids_given_out_by_a_rolled_back_batch_are_forgotten(db_path: Path) -> None:
    """A batch that failed after writing an article's row is rolled back, and SQLite gives its id
    to the next row: a later sighting of that article must not land on that other row."""
    stats = MemoryStatsCollector(get_crawler())
    store = SQLitePipeline(str(db_path), stats, batch_size=100, batch_seconds=3600)
    store.open_spider()
    store.process_item(article(f"{BASE}/first"))
    store.flush()
    store.process_item(article(f"{BASE}/a"))
    store.process_item(article(f"{BASE}/b", feed=OTHER_FEED))
    store.db.execute(  # the disk fills up after /a's row was written
        "CREATE TEMP TRIGGER disk_full BEFORE INSERT ON articles WHEN NEW.url LIKE '%/b' "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    assert not store.flush()
    store.db.execute("DROP TRIGGER disk_full")
    store.process_item(article(f"{BASE}/z"))  # takes the id /a had in the lost batch
    store.process_item(article(f"{BASE}/a", status="seen", feed=OTHER_FEED))
    store.close_spider()
    linked = "select a.url from entries e join articles a on a.id = e.article_id order by e.id"
    assert (f"{BASE}/z",) in rows(db_path, linked)
    assert rows(db_path, linked).count((f"{BASE}/z",)) == 1
    assert rows(db_path, "select url, status from articles order by id") == [
        (f"{BASE}/first", "ok"),
        (f"{BASE}/z", "ok"),
        (f"{BASE}/a", "not_fetched"),
    ]


def test_a_sighting_waiting_for_a_copys_entry_is_linked_when_the_crawl_closes(
    db_path: Path,
) -> None:
    """Another feed's link to a page whose fetch turned out to be a copy is found through the
    copy's entry: at the close it is linked to the original, whatever order they waited in,
    not kept as an unfetched page of its own."""
    store = make_store(db_path)
    link = f"{BASE}/mirror/grain"
    seen = article(link, status="seen", feed=OTHER_FEED)
    copy = article(link)
    copy.same_as_url = f"{BASE}/grain"
    store.process_item(seen)
    store.process_item(copy)
    store.process_item(article(f"{BASE}/grain", feed=f"{BASE}/feeds/third.rss"))
    store.close_spider()
    assert rows(db_path, "select url, status from articles") == [(f"{BASE}/grain", "ok")]
    assert rows(db_path, "select count(*), count(distinct article_id) from entries") == [(3, 1)]
