"""The revisit schedule: durations, steps done, and which stored articles are due."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from pipeline.db.connection import open_db
from pipeline.parsing.feed_entries import iso_utc
from pipeline.revisits.schedule import RevisitSchedule, due_revisits, parse_durations

HOUR = 3600.0
DAY = 24 * HOUR
NOW = 1_700_000_000.0
DEFAULT = RevisitSchedule(parse_durations("1h,6h,24h,3d,7d"))


def test_parse_durations() -> None:
    assert parse_durations(["1h", "6h", "24h", "3d", "7d"]) == (
        HOUR,
        6 * HOUR,
        DAY,
        3 * DAY,
        7 * DAY,
    )
    assert parse_durations("30m, 90, 1w") == (90, 1800, 7 * DAY)  # sorted
    assert parse_durations("0") == (0,)
    assert parse_durations([]) == parse_durations("") == ()
    with pytest.raises(ValueError, match="cannot read 'soon'"):
        parse_durations("1h,soon")


def test_steps_done_counts_every_step_passed() -> None:
    assert DEFAULT.steps_done(0, 2 * HOUR) == 1
    assert DEFAULT.steps_done(0, 2 * DAY) == 3  # found late: the missed steps are not repeated
    assert DEFAULT.steps_done(3, 2 * DAY) == 4  # checked early (the schedule changed): one more
    assert RevisitSchedule((0.0,)).steps_done(2, 30 * DAY) == 2  # a full re-check skips none


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_db(tmp_path / "news.db") as database:
        database.table("feeds").insert({"id": 1, "url": "http://news.test/feed"})
        yield database


def store(db: Database, url: str, age: float, status: str = "ok", **columns: object) -> int:
    row = {"url": url, "status": status, "first_seen_at": iso_utc(NOW - age), "feed_id": 1}
    pk = db.table("articles").insert({**row, **columns}).last_pk
    assert pk is not None
    return int(pk)


def urls(db: Database, schedule: RevisitSchedule, limit: int = 100) -> list[str]:
    return [revisit.url for revisit in due_revisits(db, schedule, NOW, limit)]


def test_an_article_is_due_at_each_step_once(db: Database) -> None:
    store(db, "http://news.test/fresh", 10 * 60)  # 10 minutes old: not yet
    store(db, "http://news.test/hour", 2 * HOUR)  # step 1 due
    store(db, "http://news.test/checked", 2 * HOUR, revisits=1)  # step 1 done, step 2 at 6 h
    store(db, "http://news.test/day", 30 * HOUR, revisits=2)  # step 3 due
    store(db, "http://news.test/done", 30 * DAY, revisits=5)  # schedule over
    store(db, "http://news.test/late", 10 * DAY)  # found late: checked once, within 14 days
    store(db, "http://news.test/past", 15 * DAY)  # past the horizon (twice the last step)
    store(db, "http://news.test/failed", 2 * HOUR, status="fetch_failed:503")  # no text
    assert urls(db, DEFAULT) == [  # newest first
        "http://news.test/hour",
        "http://news.test/day",
        "http://news.test/late",
    ]
    assert DEFAULT.horizon == 14 * DAY


def test_at_most_the_limit_newest_first(db: Database) -> None:
    for number in range(5):
        store(db, f"http://news.test/{number}", (number + 2) * HOUR)
    assert urls(db, DEFAULT, limit=2) == ["http://news.test/0", "http://news.test/1"]
    assert due_revisits(db, DEFAULT, NOW, 0) == []
    assert due_revisits(db, RevisitSchedule(()), NOW, 10) == []


def test_zero_makes_every_stored_article_due_least_recently_checked_first(db: Database) -> None:
    store(db, "http://news.test/fresh", 60, last_checked_at=iso_utc(NOW - 10))
    store(db, "http://news.test/done", 30 * DAY, revisits=5, last_checked_at=iso_utc(NOW - DAY))
    store(db, "http://news.test/never", 200 * DAY)  # no horizon for a full re-check
    assert urls(db, RevisitSchedule((0.0,))) == [
        "http://news.test/never",
        "http://news.test/done",
        "http://news.test/fresh",
    ]


def test_due_revisits_carry_what_the_request_and_the_store_need(db: Database) -> None:
    article_id = store(
        db, "http://news.test/a", 2 * HOUR, etag='"abc"', last_modified="Sun, 25 Sep 2022",
        removed_at=iso_utc(NOW - HOUR),
    )  # fmt: skip
    db.table("entries").insert(
        {"feed_id": 1, "article_id": article_id, "title": "As the feed said", "first_seen_at": "x"}
    )
    (revisit,) = due_revisits(db, DEFAULT, NOW, 10)
    assert (revisit.article_id, revisit.feed_url, revisit.entry_title) == (
        article_id, "http://news.test/feed", "As the feed said",
    )  # fmt: skip
    assert (revisit.etag, revisit.last_modified, revisit.removed) == (
        '"abc"', "Sun, 25 Sep 2022", True,
    )  # fmt: skip
    assert revisit.steps_done == 1


@pytest.mark.parametrize("schedule", [DEFAULT, RevisitSchedule((0.0,))], ids=["steps", "zero"])
def test_a_channels_posts_are_not_rechecked_but_the_pages_they_link_to_are(
    db: Database, schedule: RevisitSchedule
) -> None:
    db.table("feeds").insert({"id": 2, "url": "https://t.me/s/steppe_news", "kind": "telegram"})
    store(db, "https://t.me/steppe_news/101", 2 * HOUR, feed_id=2)  # read whole from the channel
    store(db, "http://news.test/linked", 2 * HOUR, feed_id=2)  # a page a post links to
    store(db, "https://t.me/steppe_news/102", 2 * HOUR)  # a link to a post, listed in a feed
    assert sorted(urls(db, schedule)) == [
        "http://news.test/linked",
        "https://t.me/steppe_news/102",
    ]
