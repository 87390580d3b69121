"""The feed schedule: FeedScheduleMiddleware (feeds not yet due, conditional GET, the previous body
hash) and FeedSchedule (the schedule columns of ``feeds``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler
from sqlite_utils import Database

from pipeline import statuses
from pipeline.downloadermiddlewares import feedschedule
from pipeline.downloadermiddlewares.feedschedule import FeedSchedule, FeedScheduleMiddleware
from pipeline.downloadermiddlewares.ignored_requests import FeedNotDue
from pipeline.items import FeedItem
from pipeline.parsing.feed_entries import iso_utc

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
FEED = "https://news.test/feeds/world.rss"
OTHER_FEED = "https://news.test/feeds/science.rdf"
ETAG = '"v1-world"'
LAST_MODIFIED = "Fri, 15 Jan 2027 07:00:00 GMT"
BODY_HASH = "3f7a9c"


@pytest.fixture(autouse=True)
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The middleware's ``time.time()`` returns NOW."""
    monkeypatch.setattr(feedschedule, "time", SimpleNamespace(time=lambda: NOW))


@pytest.fixture
def middleware(tmp_path: Path, db: Database) -> Iterator[FeedScheduleMiddleware]:
    crawler = get_crawler(settings_dict={"NEWSMON_DB_PATH": str(tmp_path / "news.db")})
    built = FeedScheduleMiddleware.from_crawler(crawler)
    yield built
    built.reader.close()


def add_feed(db: Database, url: str = FEED, **columns: Any) -> None:
    db.table("feeds").insert({"url": url, **columns})


def feed_request(url: str = FEED, **meta: Any) -> Request:
    return Request(url, meta={"newsmon_kind": "feed", **meta})


def not_due(middleware: FeedScheduleMiddleware) -> Any:
    return middleware.stats.get_value("newsmon/feeds/not_due")


# FeedScheduleMiddleware ----------------------------------------------------------------------


def test_a_due_feed_is_sent_with_its_validators_and_previous_hash(
    db: Database, middleware: FeedScheduleMiddleware
) -> None:
    add_feed(db, etag=ETAG, last_modified=LAST_MODIFIED, body_hash=BODY_HASH)
    request = feed_request()
    middleware.process_request(request)
    assert request.headers.get(b"If-None-Match") == ETAG.encode()
    assert request.headers.get(b"If-Modified-Since") == LAST_MODIFIED.encode()
    assert request.meta["newsmon_previous_hash"] == BODY_HASH
    assert request.meta["newsmon_state_done"] is True
    assert not_due(middleware) is None


def test_a_feed_without_validators_is_sent_unconditionally(
    db: Database, middleware: FeedScheduleMiddleware
) -> None:
    add_feed(db, last_status=statuses.PARSE_ERROR)
    add_feed(db, OTHER_FEED, last_modified=LAST_MODIFIED)  # a server without ETags
    request, other = feed_request(), feed_request(OTHER_FEED)
    middleware.process_request(request)
    middleware.process_request(other)
    assert b"If-None-Match" not in request.headers
    assert b"If-Modified-Since" not in request.headers
    assert "newsmon_previous_hash" not in request.meta
    assert b"If-None-Match" not in other.headers
    assert other.headers.get(b"If-Modified-Since") == LAST_MODIFIED.encode()
    assert "newsmon_previous_hash" not in other.meta


def test_a_feed_backing_off_is_not_due_until_its_time(
    db: Database, middleware: FeedScheduleMiddleware
) -> None:
    add_feed(db, consecutive_failures=1, next_due_at=iso_utc(NOW + 1), etag=ETAG)
    with pytest.raises(FeedNotDue, match=f"{FEED} backs off until {iso_utc(NOW + 1)}"):
        middleware.process_request(feed_request())
    assert not_due(middleware) == 1

    db.execute("UPDATE feeds SET next_due_at = ?", (iso_utc(NOW),))  # the time has come
    request = feed_request()
    middleware.process_request(request)
    assert request.headers.get(b"If-None-Match") == ETAG.encode()
    assert not_due(middleware) == 1


def test_a_feed_due_in_the_past_is_sent(db: Database, middleware: FeedScheduleMiddleware) -> None:
    add_feed(db, consecutive_failures=3, next_due_at="2000-01-01T00:00:00Z")
    middleware.process_request(feed_request())
    assert not_due(middleware) is None


def test_an_unknown_feed_is_sent_untouched(
    db: Database, middleware: FeedScheduleMiddleware
) -> None:
    add_feed(db, OTHER_FEED, next_due_at=iso_utc(NOW + 3600), etag=ETAG, body_hash=BODY_HASH)
    request = feed_request()
    middleware.process_request(request)
    assert not request.headers
    assert request.meta == {"newsmon_kind": "feed", "newsmon_state_done": True}


def test_without_a_database_every_feed_is_sent_and_none_is_created(tmp_path: Path) -> None:
    path = tmp_path / "none" / "news.db"
    middleware = FeedScheduleMiddleware(str(path), MemoryStatsCollector(get_crawler()))
    request = feed_request()
    middleware.process_request(request)
    assert not request.headers
    assert not path.exists()
    middleware.reader.close()


@pytest.mark.parametrize("meta", [{}, {"newsmon_kind": "article"}], ids=["no-kind", "article"])
def test_requests_that_are_not_feeds_are_left_alone(
    db: Database, middleware: FeedScheduleMiddleware, meta: dict[str, str]
) -> None:
    add_feed(db, next_due_at=iso_utc(NOW + 3600), etag=ETAG, body_hash=BODY_HASH)
    request = Request(FEED, meta=meta)
    middleware.process_request(request)
    assert not request.headers
    assert request.meta == meta
    assert not_due(middleware) is None


def test_a_retried_or_redirected_feed_request_is_not_scheduled_again(
    db: Database, middleware: FeedScheduleMiddleware
) -> None:
    add_feed(db, etag=ETAG, body_hash=BODY_HASH)
    request = feed_request()
    middleware.process_request(request)
    # The feed now backs off (as if recorded meanwhile): a fresh request is refused ...
    db.execute("UPDATE feeds SET next_due_at = ?, etag = ?", (iso_utc(NOW + 600), '"v2"'))
    with pytest.raises(FeedNotDue):
        middleware.process_request(feed_request())
    # ... but the retry and the redirect of the request already let through are not.
    retry = request.copy()
    redirect = request.replace(url="https://news.test/feeds/world-moved.rss")
    for again in (retry, redirect):
        middleware.process_request(again)
        assert again.headers.getlist(b"If-None-Match") == [ETAG.encode()]
        assert again.meta["newsmon_previous_hash"] == BODY_HASH
    assert not_due(middleware) == 1


def test_validators_already_on_the_request_are_kept(
    db: Database, middleware: FeedScheduleMiddleware
) -> None:
    add_feed(db, etag=ETAG, last_modified=LAST_MODIFIED)
    request = Request(FEED, meta={"newsmon_kind": "feed"}, headers={"If-None-Match": '"mine"'})
    middleware.process_request(request)
    assert request.headers.getlist(b"If-None-Match") == [b'"mine"']
    assert request.headers.get(b"If-Modified-Since") == LAST_MODIFIED.encode()


# FeedSchedule --------------------------------------------------------------------------------

SCHEDULE_COLUMNS = (
    "consecutive_failures, next_due_at, retry_after, etag, last_modified, body_hash, "
    "next_etag, next_last_modified, next_body_hash"
)


def schedule_of(db: Database, url: str = FEED) -> dict[str, Any]:
    cursor = db.execute(f"SELECT {SCHEDULE_COLUMNS} FROM feeds WHERE url = ?", (url,))
    names = [column[0] for column in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def read_feed(**fields: Any) -> FeedItem:
    values: dict[str, Any] = {
        "status": statuses.OK,
        "etag": '"v2-world"',
        "last_modified": "Fri, 15 Jan 2027 07:30:00 GMT",
        "body_hash": "b0d1e5",
        **fields,
    }
    return FeedItem(url=FEED, **values)


def test_next_due_is_none_for_a_healthy_feed_without_a_minimum_interval() -> None:
    assert FeedSchedule().next_due(NOW, 0) is None
    assert FeedSchedule(min_interval=900).next_due(NOW, 0) == NOW + 900
    assert FeedSchedule().next_due(NOW, 0, retry_after=120) == NOW + 120


def test_next_due_doubles_the_back_off_up_to_its_maximum() -> None:
    schedule = FeedSchedule(backoff_base=60, backoff_max=600)
    waits = [schedule.next_due(0, failures) for failures in range(1, 7)]
    assert waits == [60, 120, 240, 480, 600, 600]
    assert schedule.next_due(0, 2, retry_after=30) == 120  # the longer of the two
    assert schedule.next_due(0, 2, retry_after=3000) == 3000


def test_record_of_a_read_feed_stages_its_validators_and_clears_failures(db: Database) -> None:
    add_feed(db, consecutive_failures=2, next_due_at=iso_utc(NOW - 60), etag=ETAG)
    FeedSchedule().record(db, read_feed(), NOW)
    assert schedule_of(db) == {
        "consecutive_failures": 0,
        "next_due_at": None,
        "retry_after": None,
        "etag": ETAG,  # confirmed only once the crawl has stored every entry
        "last_modified": None,
        "body_hash": None,
        "next_etag": '"v2-world"',
        "next_last_modified": "Fri, 15 Jan 2027 07:30:00 GMT",
        "next_body_hash": "b0d1e5",
    }


def test_record_with_a_minimum_interval_sets_when_a_healthy_feed_is_due(db: Database) -> None:
    add_feed(db)
    FeedSchedule(min_interval=900).record(db, read_feed(status=statuses.NO_ENTRIES), NOW)
    assert schedule_of(db)["next_due_at"] == iso_utc(NOW + 900)
    assert schedule_of(db)["next_body_hash"] == "b0d1e5"


def test_record_of_failures_backs_off_and_keeps_the_staged_validators(db: Database) -> None:
    add_feed(db)
    schedule = FeedSchedule(backoff_base=300, backoff_max=3600)
    schedule.record(db, read_feed(), NOW)
    failed = FeedItem(url=FEED, status=statuses.fetch_failed(503), http_status=503)
    schedule.record(db, failed, NOW)
    first = schedule_of(db)
    assert (first["consecutive_failures"], first["next_due_at"]) == (1, iso_utc(NOW + 300))
    assert (first["next_etag"], first["next_body_hash"]) == ('"v2-world"', "b0d1e5")
    schedule.record(db, failed, NOW + 300)
    second = schedule_of(db)
    assert (second["consecutive_failures"], second["next_due_at"]) == (2, iso_utc(NOW + 900))
    schedule.record(db, read_feed(), NOW + 900)
    assert schedule_of(db)["consecutive_failures"] == 0


def test_record_honours_a_servers_retry_after(db: Database) -> None:
    add_feed(db)
    limited = FeedItem(url=FEED, status=statuses.fetch_failed(429), retry_after=7200)
    FeedSchedule(backoff_base=300).record(db, limited, NOW)
    row = schedule_of(db)
    assert row["consecutive_failures"] == 1
    assert row["next_due_at"] == iso_utc(NOW + 7200)
    assert row["retry_after"] == iso_utc(NOW + 7200)


@pytest.mark.parametrize("status", [statuses.NOT_MODIFIED, statuses.UNCHANGED])
def test_record_of_an_unread_feed_is_healthy_but_stages_no_body_hash(
    db: Database, status: str
) -> None:
    add_feed(db, consecutive_failures=1, body_hash=BODY_HASH)
    FeedSchedule().record(db, read_feed(status=status, body_hash="other"), NOW)
    row = schedule_of(db)
    assert row["consecutive_failures"] == 0
    assert row["next_body_hash"] is None
    assert row["body_hash"] == BODY_HASH


def test_record_touches_only_its_own_feed(db: Database) -> None:
    add_feed(db)
    add_feed(db, OTHER_FEED, consecutive_failures=4, etag=ETAG)
    FeedSchedule().record(db, FeedItem(url=FEED, status=statuses.fetch_failed("timeout")), NOW)
    assert schedule_of(db)["consecutive_failures"] == 1
    other = schedule_of(db, OTHER_FEED)
    assert (other["consecutive_failures"], other["etag"], other["next_due_at"]) == (4, ETAG, None)


def test_confirm_makes_the_staged_validators_the_ones_to_send(db: Database) -> None:
    add_feed(db, etag=ETAG, last_modified=LAST_MODIFIED, body_hash=BODY_HASH)
    add_feed(db, OTHER_FEED, etag='"kept"', body_hash="kept")  # not fetched in this crawl
    FeedSchedule().record(db, read_feed(), NOW)
    FeedSchedule.confirm(db)
    row = schedule_of(db)
    assert (row["etag"], row["last_modified"], row["body_hash"]) == (
        '"v2-world"',
        "Fri, 15 Jan 2027 07:30:00 GMT",
        "b0d1e5",
    )
    assert (row["next_etag"], row["next_last_modified"], row["next_body_hash"]) == (None,) * 3
    other = schedule_of(db, OTHER_FEED)
    assert (other["etag"], other["body_hash"]) == ('"kept"', "kept")


def test_a_confirmed_feed_without_validators_sends_none_next_time(
    db: Database, middleware: FeedScheduleMiddleware
) -> None:
    add_feed(db, etag=ETAG, last_modified=LAST_MODIFIED, body_hash=BODY_HASH)
    FeedSchedule().record(db, read_feed(etag=None, last_modified=None), NOW)
    FeedSchedule.confirm(db)
    request = feed_request()
    middleware.process_request(request)
    assert b"If-None-Match" not in request.headers
    assert b"If-Modified-Since" not in request.headers
    assert request.meta["newsmon_previous_hash"] == "b0d1e5"


def test_forget_unconfirmed_drops_the_staged_validators_of_an_unfinished_crawl(
    db: Database, middleware: FeedScheduleMiddleware
) -> None:
    add_feed(db, etag=ETAG, last_modified=LAST_MODIFIED, body_hash=BODY_HASH)
    FeedSchedule().record(db, read_feed(), NOW)
    FeedSchedule.forget_unconfirmed(db)
    row = schedule_of(db)
    assert (row["next_etag"], row["next_last_modified"], row["next_body_hash"]) == (None,) * 3
    assert (row["etag"], row["last_modified"], row["body_hash"]) == (
        ETAG,
        LAST_MODIFIED,
        BODY_HASH,
    )
    FeedSchedule.confirm(db)  # nothing left to confirm
    request = feed_request()
    middleware.process_request(request)
    assert request.headers.get(b"If-None-Match") == ETAG.encode()
    assert request.meta["newsmon_previous_hash"] == BODY_HASH
