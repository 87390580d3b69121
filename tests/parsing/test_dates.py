"""Page dates: their three forms (UTC, local time, day), the choice among a page's dates, and
the choice between the page's date and the feed's."""

from __future__ import annotations

import pytest

from pipeline.parsing.dates import best, choose_published, normalise_date


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2024-03-05T10:30:00+05:00", "2024-03-05T05:30:00Z"),  # a zone: converted to UTC
        ("2024-03-05T10:30:00.123Z", "2024-03-05T10:30:00Z"),
        ("2024-03-05 23:30:00 -0200", "2024-03-06T01:30:00Z"),
        ("2024-03-05T14:20", "2024-03-05T14:20:00"),  # no zone: the page's local time
        ("2024-03-05", "2024-03-05"),  # a day stays a day
        ("2024-03-05T00:00:00+02:00", "2024-03-05"),  # midnight: a day, not 22:00 UTC the eve
        ("2024-03-05T00:00:00Z", "2024-03-05"),
        ("Tue, 05 Mar 2024 10:30:00 +0300", "2024-03-05T07:30:00Z"),  # RFC 2822
        ("Tue, 05 Mar 2024 10:30:00 -0000", "2024-03-05T10:30:00"),  # "-0000": zone unknown
        ("2024-02-30T10:00:00Z", None),
        ("1970-01-01T10:00:00Z", None),  # an empty timestamp field
        ("5 березня 2024", None),
        ("", None),
    ],
)
def test_normalise_date(given: str, stored: str | None) -> None:
    assert normalise_date(given) == stored


def test_best_takes_a_more_precise_date_of_the_same_day_only() -> None:
    assert best([None, "2024-03-05", "2024-03-05T07:30:00Z"]) == "2024-03-05T07:30:00Z"
    assert best(["2024-03-05T10:30:00", "2024-03-05T07:30:00Z"]) == "2024-03-05T07:30:00Z"
    assert best(["2024-03-05", "2019-01-01T07:30:00Z"]) == "2024-03-05"  # a stray date
    assert best(["2024-03-05T07:30:00Z", "2024-03-05T08:00:00Z"]) == "2024-03-05T07:30:00Z"
    assert best([None, None]) is None


FETCHED = "2024-03-06T12:00:00Z"


def test_the_feed_date_wins() -> None:
    assert choose_published("2024-03-05T09:00:00Z", "2024-03-05T08:00:00Z", FETCHED, False) == (
        "2024-03-05T09:00:00Z"
    )
    assert choose_published(None, "2024-03-05", FETCHED, False) == "2024-03-05"
    assert choose_published("2024-03-05T09:00:00Z", None, FETCHED, False) == "2024-03-05T09:00:00Z"


def test_a_feed_date_that_is_the_crawl_time_gives_way_to_the_page() -> None:
    # stamped on every entry of its feed
    assert choose_published("2024-03-06T11:00:00Z", "2024-03-05T08:00:00Z", FETCHED, True) == (
        "2024-03-05T08:00:00Z"
    )
    # minutes before the page was fetched, while the page says the day before
    assert choose_published("2024-03-06T11:58:00Z", "2024-03-05", FETCHED, False) == "2024-03-05"
    # a fresh article: the page agrees with the feed, which keeps its time
    assert choose_published("2024-03-06T11:58:00Z", "2024-03-06T11:57:00Z", FETCHED, False) == (
        "2024-03-06T11:58:00Z"
    )


def test_a_feed_date_at_midnight_utc_takes_the_page_time_of_that_day() -> None:
    assert choose_published("2024-03-05T00:00:00Z", "2024-03-05T08:15:00Z", FETCHED, False) == (
        "2024-03-05T08:15:00Z"
    )
    assert choose_published("2024-03-05T00:00:00Z", "2024-01-01T08:15:00Z", FETCHED, False) == (
        "2024-03-05T00:00:00Z"
    )
