"""What a feed URL serves, told from its body: a feed, a sitemap, or a Telegram channel.

``parse_source`` reads the body as the kind it is (``parse_sitemap``, ``parse_channel``, else
``parse_feed``), so that any of them may be given as a feed; the crawl's workers run it for the
feed spider (the ``parse_feed`` task). ``source_kind`` names the kind of a parsed format, as
``feeds.kind`` stores it.
"""

from __future__ import annotations

from pipeline import statuses
from pipeline.exceptions import FeedParseError
from pipeline.parsing.feed_entries import ParsedFeed, parse_feed
from pipeline.parsing.sitemaps import FORMATS as SITEMAP_FORMATS
from pipeline.parsing.sitemaps import (
    SITEMAP_INDEX_FORMAT,
    ParsedSitemap,
    looks_like_sitemap,
    parse_sitemap,
)
from pipeline.parsing.telegram import TELEGRAM_FORMAT, looks_like_channel, parse_channel

FEED = "feed"
SITEMAP = "sitemap"
TELEGRAM = "telegram"
KINDS = (FEED, SITEMAP, TELEGRAM)


def parse_source(
    body: bytes, url: str, headers: dict[str, str] | None = None, *, max_entries: int = 500
) -> ParsedFeed:
    """The entries of whatever a feed URL serves (raises FeedParseError)."""
    if looks_like_sitemap(body):
        return parse_sitemap(body, url, max_entries=max_entries)
    if looks_like_channel(body):
        return parse_channel(body, url, max_entries=max_entries)
    return parse_feed(body, url, headers, max_entries=max_entries)


def parse_source_or_error(
    body: bytes, url: str, headers: dict[str, str], max_entries: int
) -> ParsedFeed | FeedParseError:
    """``parse_source`` for the feed spider, in a worker process: the error is returned, not
    raised, to keep its reason. A sitemap index is not a feed: it lists sitemaps, not pages."""
    try:
        parsed = parse_source(body, url, headers, max_entries=max_entries)
    except FeedParseError as exc:
        return exc
    if isinstance(parsed, ParsedSitemap) and parsed.format == SITEMAP_INDEX_FORMAT:
        return FeedParseError(
            statuses.NOT_A_FEED,
            f"{url} is a sitemap index of {len(parsed.sitemaps)} sitemaps: add one of them as a "
            "feed, or run 'newsmon backfill' on the site",
        )
    return parsed


def source_kind(format: str) -> str:
    """``feed``, ``sitemap`` or ``telegram``: the kind of source a parsed format comes from."""
    if format in SITEMAP_FORMATS:
        return SITEMAP
    return TELEGRAM if format == TELEGRAM_FORMAT else FEED
