"""Publication and modification dates of a page, with the precision the page gave.

A date is returned in one of three forms, by what the source said:

- ``2024-03-05T07:30:00Z``: a time with a zone, converted to UTC;
- ``2024-03-05T10:30:00``: a time without a zone, kept as the page's local time;
- ``2024-03-05``: a day only. A time of exactly midnight (``T00:00:00``, with or without a
  zone) is how content systems write a day without a time, so it is read as that day.

``page_dates`` reads the page's structured data first (JSON-LD ``datePublished``,
``article:published_time`` and the like, ``itemprop``, ``<time datetime>``), then htmldate (a
day). ``choose_published`` weighs the page's date against the feed's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from pipeline.parsing.feed_entries import iso_utc

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from pipeline.parsing.page_metadata import Structured

# Meta tags that give the publication date, most specific first.
PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "article.published",
    "parsely-pub-date",
    "sailthru.date",
    "publish-date",
    "publishdate",
    "pubdate",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.created",
    "date",
)
MODIFIED_META = (
    "article:modified_time",
    "og:article:modified_time",
    "og:updated_time",
    "datemodified",
    "article.updated",
    "dcterms.modified",
    "last-modified",
)

_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?",
    re.IGNORECASE,
)
_EARLIEST_YEAR = 1990


def normalise_date(value: str | None) -> str | None:
    """An ISO 8601 or RFC 2822 date as one of the three forms above; None if it is not one."""
    if not value:
        return None
    value = value.strip()
    match = _ISO.match(value)
    if match:
        year, month, day, hour, minute, second, zone = match.groups()
        try:
            moment = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        except ValueError:
            return None
        if hour is None:
            return _day(moment)
        return _with_time(moment, _zone(zone))
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    zone_given = parsed.tzinfo is not None and not re.search(r"-0000\s*$", value)
    return _with_time(parsed.replace(tzinfo=None), parsed.tzinfo if zone_given else None)


def _zone(zone: str | None) -> timezone | None:
    if zone is None:
        return None
    if zone.upper() in ("Z", "UTC", "GMT"):
        return UTC
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if zone[0] == "-" else offset)


def _day(moment: datetime) -> str | None:
    if moment.year < _EARLIEST_YEAR:
        return None
    return moment.strftime("%Y-%m-%d")


def _with_time(local: datetime, zone: Any) -> str | None:
    if local.year < _EARLIEST_YEAR:
        return None
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return _day(local)  # a day written as midnight
    if zone is None:
        return local.strftime("%Y-%m-%dT%H:%M:%S")
    return iso_utc(local.replace(tzinfo=zone).timestamp())


def precision(date: str) -> int:
    """How precise a normalised date is: 2 a time with a zone, 1 a local time, 0 a day."""
    if len(date) == 10:
        return 0
    return 2 if date.endswith("Z") else 1


def best(candidates: list[str | None]) -> str | None:
    """The most precise of the normalised candidates, the earliest given among equals.

    A candidate is only passed over for a more precise one on the same day (a time zone can
    move a day by one), so that a stray date elsewhere on the page does not win on precision.
    """
    dates = [date for date in candidates if date]
    if not dates:
        return None
    chosen = dates[0]
    for date in dates[1:]:
        if precision(date) > precision(chosen) and _near(date, chosen):
            chosen = date
    return chosen


def _near(a: str, b: str) -> bool:
    day_a, day_b = datetime.fromisoformat(a[:10]), datetime.fromisoformat(b[:10])
    return abs(day_a - day_b) <= timedelta(days=1)


def page_dates(
    tree: HtmlElement, structured: Structured, url: str | None
) -> tuple[str | None, str | None]:
    """The page's publication and modification dates (normalised; None when not said)."""
    meta, json_ld = structured.meta, structured.json_ld
    published_candidates = [normalise_date(json_ld.published)]
    published_candidates += [normalise_date(meta.get(name)) for name in PUBLISHED_META]
    published_candidates += [normalise_date(value) for value in _time_elements(tree)]
    published = best(published_candidates)
    if published is None:
        from htmldate import find_date  # here: the crawl process imports this module too

        found = find_date(tree, **{**_date_params(), "url": url})
        published = normalise_date(found) if found else None
    modified_candidates = [normalise_date(json_ld.modified)]
    modified_candidates += [normalise_date(meta.get(name)) for name in MODIFIED_META]
    return published, best(modified_candidates)


def _time_elements(tree: HtmlElement) -> list[str]:
    """``datetime`` of the ``<time>`` elements that date the article: one marked ``pubdate``,
    else the first inside an ``<article>``, else the page's only one."""
    marked = tree.xpath("//time[@datetime][@pubdate]/@datetime")
    if marked:
        return [str(marked[0])]
    in_article = tree.xpath("//article//time[@datetime]/@datetime")
    if in_article:
        return [str(in_article[0])]
    every = tree.xpath("//time[@datetime]/@datetime")
    return [str(every[0])] if len(every) == 1 else []


@cache
def _date_params() -> dict[str, Any]:
    """htmldate's options as trafilatura sets them, without the slow search of the text."""
    from trafilatura.settings import set_date_params  # the workers' library, not the crawl's

    return set_date_params(extensive=False)


def choose_published(
    feed: str | None, page: str | None, fetched_at: str | None, feed_stamp_repeated: bool
) -> str | None:
    """The article's publication date, from the feed's date (ISO 8601 UTC) and the page's.

    The feed's date wins, unless it is the crawl time in disguise: the same instant on more
    than one entry of the feed (``feed_stamp_repeated``), or within ten minutes of the fetch
    while the page says something earlier. A feed date at exactly midnight UTC is a day: a page
    time on that day is more precise.
    """
    if not feed:
        return page
    if not page:
        return feed
    feed_time = _parse(feed)
    page_time = _parse(page)
    if feed_time is None or page_time is None:
        return feed
    if feed_stamp_repeated:
        return page
    fetched = _parse(fetched_at) if fetched_at else None
    stamped_at_fetch = fetched is not None and abs(fetched - feed_time) <= timedelta(minutes=10)
    if stamped_at_fetch and feed_time - page_time > timedelta(minutes=10):
        return page
    if feed.endswith("T00:00:00Z") and precision(page) > 0 and _near(page, feed):
        return page
    return feed


def _parse(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
