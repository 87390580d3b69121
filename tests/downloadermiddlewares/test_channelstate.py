"""ChannelStateMiddleware: the newest stored post of a channel, passed to the spider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler
from sqlite_utils import Database

from pipeline.downloadermiddlewares.channelstate import ChannelStateMiddleware

CHANNEL = "https://t.me/s/steppe_news"


@pytest.fixture
def middleware(tmp_path: Path, db: Database) -> Iterator[ChannelStateMiddleware]:
    crawler = get_crawler(settings_dict={"NEWSMON_DB_PATH": str(tmp_path / "news.db")})
    built = ChannelStateMiddleware.from_crawler(crawler)
    yield built
    built.reader.close()


def sight(db: Database, feed_id: int, guid: str | None, number: int) -> None:
    db.execute(
        "INSERT INTO articles (id, url, status, first_seen_at, feed_id) VALUES (?, ?, 'ok', 'x', ?)",
        (number, f"https://t.me/steppe_news/{number}", feed_id),
    )
    db.execute(
        "INSERT INTO entries (feed_id, article_id, guid, first_seen_at) VALUES (?, ?, ?, 'x')",
        (feed_id, number, guid),
    )
    db.conn.commit()


def newest(middleware: ChannelStateMiddleware, url: str = CHANNEL, kind: str = "feed") -> object:
    request = Request(url, meta={"newsmon_kind": kind})
    middleware.process_request(request)
    return request.meta.get("newsmon_newest_post", "unset")


def test_the_newest_stored_post_of_a_channel_goes_with_its_request(
    db: Database, middleware: ChannelStateMiddleware
) -> None:
    db.table("feeds").insert({"id": 1, "url": CHANNEL, "kind": "telegram"})
    for number in (9, 100, 98):  # numerically, not as text
        sight(db, 1, f"steppe_news/{number}", number)
    sight(db, 1, None, 500)  # a sighting without a post's guid does not count
    assert newest(middleware) == 100


def test_a_channel_never_read_and_a_feed_have_none(
    db: Database, middleware: ChannelStateMiddleware
) -> None:
    db.table("feeds").insert({"id": 1, "url": CHANNEL, "kind": "telegram"})
    assert newest(middleware) is None
    db.table("feeds").insert({"id": 2, "url": "https://news.test/rss", "kind": "feed"})
    sight(db, 2, "steppe_news/7", 7)
    assert newest(middleware, "https://news.test/rss") is None
    assert newest(middleware, "https://unknown.test/") is None


def test_only_feed_requests_are_looked_up(middleware: ChannelStateMiddleware) -> None:
    assert newest(middleware, kind="article") == "unset"
    assert newest(middleware, kind="channel_page") == "unset"


def test_a_feed_on_telegram_is_not_retried_at_once(middleware: ChannelStateMiddleware) -> None:
    on_telegram = Request(CHANNEL, meta={"newsmon_kind": "feed"})
    middleware.process_request(on_telegram)
    assert on_telegram.meta["dont_retry"] is True
    elsewhere = Request("https://news.test/rss", meta={"newsmon_kind": "feed"})
    middleware.process_request(elsewhere)
    assert "dont_retry" not in elsewhere.meta
