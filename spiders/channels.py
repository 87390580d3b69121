"""Reading Telegram channels in the feed spider: posts as articles, older pages on a first read.

A feed whose page is a channel preview (``pipeline.parsing.telegram``) is read here, by the
feed spider's ``ChannelReading``. Each post new to the database is an article: URL its permalink
(``https://t.me/NAME/ID``, never fetched), text the whole message, time from the post, the
channel as site; ``pipeline.pipelines.posts`` detects its language. An article page the post
links to is requested like a feed entry's, with the post's ``guid``, so that the post and the
page are sightings of each other in ``entries``.

The newest post stored already comes with the request (``newsmon_newest_post``, set by
``pipeline.downloadermiddlewares.channelstate``). The first read of a channel (none stored) goes
back through the "load more" pages (``?before=ID``) until ``NEWSMON_TELEGRAM_BACKFILL`` posts;
a later read goes back only until it reaches the newest post stored, so that older pages are
never asked for again. The posts are yielded once every page is read, oldest first. An older
page that fails (Telegram answers 429 with ``Retry-After`` when asked too often) ends the
paging: the posts read so far are kept, and Scrapy's own retries are not used for those pages.

Settings: ``NEWSMON_TELEGRAM_BACKFILL``. Stats: ``newsmon/telegram/posts``,
``newsmon/telegram/pages``, ``newsmon/telegram/page_failed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from scrapy import Request

from pipeline import statuses
from pipeline.exceptions import FeedParseError
from pipeline.items import ArticleItem, Entry
from pipeline.net.failures import describe, error_of, failure_status, retry_after
from pipeline.parsing.feed_entries import ParsedFeed, iso_utc
from pipeline.parsing.telegram import ChannelPost, ParsedChannel

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from pipeline.parsing.feed_lists import FeedSource

logger = logging.getLogger(__name__)

CHANNEL_PAGE_PRIORITY = 10  # as feeds: an older page is more posts, and more pages to fetch


class ChannelReading:
    """The feed spider's reading of channels (mixed into ``FeedSpider``)."""

    telegram_backfill: int = 100
    crawler: Crawler

    def follow_entry(self, entry: Entry) -> Iterator[Request | ArticleItem]:
        raise NotImplementedError  # FeedSpider's

    async def parse_off_reactor(self, response: Response) -> ParsedFeed:
        raise NotImplementedError  # FeedSpider's

    def read_channel(
        self, parsed: ParsedChannel, feed: FeedSource, newest_known: int | None
    ) -> Iterator[Request | ArticleItem]:
        """The first page of a channel: its new posts, or the request of older ones."""
        return self._next_page_or_posts(parsed, feed, newest_known, {})

    async def parse_channel_page(
        self,
        response: Response,
        feed: FeedSource,
        newest_known: int | None,
        collected: dict[int, ChannelPost],
        channel_title: str | None,
    ) -> AsyncIterator[Request | ArticleItem]:
        """A page of older posts ("load more")."""
        self._count("newsmon/telegram/pages")
        try:
            parsed = await self.parse_off_reactor(response)
        except FeedParseError as exc:
            logger.warning("Channel %s: older page %s: %s", feed.url, response.url, exc)
            parsed = None
        if not isinstance(parsed, ParsedChannel):
            for output in self.channel_posts(feed, channel_title, collected):
                yield output
            return
        parsed.title = channel_title or parsed.title
        for output in self._next_page_or_posts(parsed, feed, newest_known, collected):
            yield output

    def channel_page_failed(self, failure: Failure) -> Iterator[ArticleItem | Request]:
        """An older page that failed ends the paging; the posts read so far are kept."""
        request = failure.request  # type: ignore[attr-defined]
        kwargs = request.cb_kwargs
        error = error_of(failure)
        status, _ = failure_status(error)
        wait = retry_after(error)
        self._count("newsmon/telegram/page_failed")
        logger.warning(
            "Channel %s: older page %s failed: %s%s; older posts are not read in this run",
            kwargs["feed"].url,
            request.url,
            status,
            f" (Retry-After {wait:.0f} s)" if wait else f" ({describe(error)})",
        )
        yield from self.channel_posts(kwargs["feed"], kwargs["channel_title"], kwargs["collected"])

    def _next_page_or_posts(
        self,
        parsed: ParsedChannel,
        feed: FeedSource,
        newest_known: int | None,
        collected: dict[int, ChannelPost],
    ) -> Iterator[Request | ArticleItem]:
        """Add the page's posts newer than the newest stored to ``collected``; then the request
        of the older page, or, once enough are read or the stored ones reached, the posts."""
        new = [post for post in parsed.posts if newest_known is None or post.number > newest_known]
        collected = {**collected, **{post.number: post for post in new}}
        reached_known = newest_known is not None and any(
            post.number <= newest_known for post in parsed.posts
        )
        older = parsed.older_page
        if older and new and not reached_known and len(collected) < self.telegram_backfill:
            yield Request(
                older,
                callback=self.parse_channel_page,
                errback=self.channel_page_failed,
                priority=CHANNEL_PAGE_PRIORITY,
                dont_filter=True,
                cb_kwargs={
                    "feed": feed,
                    "newest_known": newest_known,
                    "collected": collected,
                    "channel_title": parsed.title,
                },
                # A refused page is not asked again at once: Telegram rate-limits hard.
                meta={"newsmon_kind": "channel_page", "dont_retry": True},
            )
            return
        yield from self.channel_posts(feed, parsed.title, collected)

    def channel_posts(
        self, feed: FeedSource, channel_title: str | None, collected: dict[int, ChannelPost]
    ) -> Iterator[Request | ArticleItem]:
        """The newest ``NEWSMON_TELEGRAM_BACKFILL`` posts collected, oldest first, each followed
        by the request of the page it links to."""
        numbers = sorted(collected)[-self.telegram_backfill :]
        for number in numbers:
            post = collected[number]
            self._count("newsmon/telegram/posts")
            yield post_item(post, feed.url, channel_title)
            if post.link:
                page = Entry(feed_url=feed.url, link=post.link, guid=post.entry.guid)
                yield from self.follow_entry(page)

    def _count(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)


def post_item(post: ChannelPost, feed_url: str, channel_title: str | None) -> ArticleItem:
    """A post as an article: read (``fetched``) with its whole text, or ``no_text`` without one.

    Posts are stored under their permalink; their language is detected by
    ``pipeline.pipelines.posts``."""
    entry = replace(post.entry, feed_url=feed_url)
    item = ArticleItem(
        url=entry.link or "",
        entry=entry,
        status=statuses.FETCHED if post.text else statuses.NO_TEXT,
        text=post.text,
        title=entry.title,
        published=entry.published,
        site_name=channel_title,
        credits=post.forwarded_from,
        fetched_at=iso_utc(time.time()),
        requested_urls=[entry.link or ""],
    )
    if not post.text:
        item.error = f"a {post.media or 'post'} without text"
    return item
