"""Public Telegram channels, read from their web preview (``https://t.me/s/NAME``).

The preview page lists the channel's latest posts as ``tgme_widget_message`` blocks: the post's
``data-post`` (``NAME/ID``), its text, a ``<time datetime>``, and, at the top, a "load more"
link to the older posts (``?before=ID``). A page of that layout is read as a channel wherever
it is served (``looks_like_channel``), in the crawl's workers like any feed
(``pipeline.parsing.sources``). Each post becomes a ``ChannelPost``: its entry (link: the
permalink ``https://t.me/NAME/ID``; summary: the whole text), the article page it links to, if
any, and who it was forwarded from. ``channel_feed_url`` turns what a user may type for a
channel (``https://t.me/NAME``, ``t.me/s/NAME``, ``@NAME``) into its preview's URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.html

from pipeline import statuses
from pipeline.exceptions import FeedParseError
from pipeline.items import Entry
from pipeline.net.urls import FETCHABLE_SCHEMES, scheme_of
from pipeline.parsing.dates import normalise_date
from pipeline.parsing.feed_entries import ParsedFeed

TELEGRAM_FORMAT = "telegram"
PERMALINK_BASE = "https://t.me/"
TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "www.t.me", "www.telegram.me", "telegram.dog"})
TITLE_CHARS = 120
# Channel names: 5 to 32 letters, digits and underscores, starting with a letter (Telegram
# allows 4 for some); paths of t.me that are not channels.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_NOT_CHANNELS = frozenset({"joinchat", "addstickers", "share", "proxy", "socks", "login", "iv"})
_SPACES = re.compile(r"[ \t\r\f\v]+")
_MEDIA = (
    ("tgme_widget_message_photo", "photo"),
    ("tgme_widget_message_video", "video"),
    ("tgme_widget_message_video_player", "video"),
    ("tgme_widget_message_roundvideo", "video"),
    ("tgme_widget_message_voice", "voice message"),
    ("tgme_widget_message_document", "document"),
    ("tgme_widget_message_poll", "poll"),
    ("tgme_widget_message_sticker", "sticker"),
    ("tgme_widget_message_location", "location"),
)


@dataclass
class ChannelPost:
    number: int  # the post's ID in its channel
    entry: Entry  # link: the permalink; guid: NAME/ID; summary: the whole text
    text: str | None
    link: str | None = None  # the article page the post links to
    forwarded_from: str | None = None
    media: str | None = None  # "photo", "video", ... when the post carries one


@dataclass
class ParsedChannel(ParsedFeed):
    """A channel's preview page: its posts, oldest first, and the URL of the older ones."""

    channel: str = ""
    posts: list[ChannelPost] = field(default_factory=list)
    older_page: str | None = None


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def looks_like_channel(body: bytes) -> bool:
    """Whether a body is a Telegram channel preview (or a page of its older posts)."""
    return b"tgme_widget_message" in body and b"data-post" in body


def channel_feed_url(value: str) -> str | None:
    """The preview URL ``https://t.me/s/NAME`` of a channel given as ``@NAME``,
    ``https://t.me/NAME``, ``t.me/s/NAME`` or a post's link; None if it is not one."""
    value = value.strip()
    if value.startswith("@"):
        name = value[1:]
        return f"{PERMALINK_BASE}s/{name}" if _NAME.match(name) else None
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if (parts.hostname or "").lower() not in TELEGRAM_HOSTS:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments[:1] == ["s"]:
        segments = segments[1:]
    if not segments or not _NAME.match(segments[0]) or segments[0].lower() in _NOT_CHANNELS:
        return None
    return f"{PERMALINK_BASE}s/{segments[0]}"


def parse_channel(body: bytes, url: str, max_entries: int = 500) -> ParsedChannel:
    """The posts of a channel preview page fetched from ``url`` (raises FeedParseError)."""
    try:
        tree = lxml.html.document_fromstring(body)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise FeedParseError(
            statuses.PARSE_ERROR, f"{url}: unreadable channel page: {exc}"
        ) from exc
    blocks = tree.xpath(f"//div[{_has_class('tgme_widget_message')}][@data-post]")
    posts = []
    for block in blocks:
        post = _post(block, url)
        if post is not None:
            posts.append(post)
    if not posts and not blocks:
        raise FeedParseError(statuses.NOT_A_FEED, f"{url}: no channel posts in the page")
    channel = _channel_of(url, posts)
    # A channel's page shows its own posts only: another channel's are not stored under its
    # permalinks (a page could claim any channel's).
    posts = sorted(
        (post for post in posts if _name_of(post).lower() == channel.lower()),
        key=lambda post: post.number,
    )
    title = _text(tree.xpath(f"//*[{_has_class('tgme_channel_info_header_title')}]"))
    title = title or _meta(tree, "og:title") or (f"@{channel}" if channel else None)
    for post in posts:
        post.entry.title = post.entry.title or f"{title}: {post.media or 'post'}"
    more = tree.xpath(f"//*[{_has_class('tme_messages_more')}][@data-before]")
    older_page = None
    if more and posts:
        href = more[0].get("href") or f"?before={more[0].get('data-before')}"
        older_page = urljoin(url, href)
    kept = posts[-max_entries:]
    return ParsedChannel(
        format=TELEGRAM_FORMAT,
        title=title,
        site_url=f"{PERMALINK_BASE}{channel}" if channel else None,
        entries=[post.entry for post in kept],
        total_entries=len(posts),
        channel=channel,
        posts=kept,
        older_page=older_page,
    )


def _name_of(post: ChannelPost) -> str:
    return (post.entry.guid or "").split("/")[0]


def _channel_of(url: str, posts: list[ChannelPost]) -> str:
    """The channel a page is of: the one its Telegram URL names, else the one most of its
    posts belong to."""
    channel = channel_feed_url(url) if (urlsplit(url).hostname or "") in TELEGRAM_HOSTS else None
    if channel:
        return channel.rsplit("/", 1)[1]
    names = [_name_of(post) for post in posts]
    return max(names, key=names.count) if names else ""


def _post(block: lxml.html.HtmlElement, page_url: str) -> ChannelPost | None:
    data_post = block.get("data-post") or ""
    name, _, number = data_post.partition("/")
    if not _NAME.match(name) or not number.isdigit():
        return None
    if "service_message" in (block.get("class") or ""):
        return None  # "channel created", "message pinned"
    own = "not(ancestor::*[" + _has_class("tgme_widget_message_reply") + "])"
    text_nodes = block.xpath(f".//div[{_has_class('tgme_widget_message_text')}][{own}]")
    text = _message_text(text_nodes[0]) if text_nodes else None
    times = block.xpath(f".//*[{_has_class('tgme_widget_message_date')}]//time[@datetime]")
    times = times or block.xpath(f".//time[@datetime][{own}]")
    published = normalise_date(times[0].get("datetime")) if times else None
    forwarded = _text(block.xpath(f".//*[{_has_class('tgme_widget_message_forwarded_from_name')}]"))
    author = _text(block.xpath(f".//*[{_has_class('tgme_widget_message_from_author')}]"))
    media = next(
        (
            kind
            for css, kind in _MEDIA
            if block.xpath(f".//*[{_has_class(css)} or {_has_class(css + '_wrap')}]")
        ),
        None,
    )
    permalink = f"{PERMALINK_BASE}{name}/{number}"
    entry = Entry(
        feed_url=page_url,
        link=permalink,
        guid=f"{name}/{number}",
        title=_title(text),
        summary=text,
        published=published,
        author=author,
    )
    return ChannelPost(
        number=int(number),
        entry=entry,
        text=text,
        link=_linked_page(block, text_nodes[0] if text_nodes else None, page_url),
        forwarded_from=forwarded,
        media=media,
    )


def _message_text(node: lxml.html.HtmlElement) -> str | None:
    for br in node.xpath(".//br"):
        br.tail = "\n" + (br.tail or "")
    lines = [_SPACES.sub(" ", line).strip() for line in node.text_content().split("\n")]
    text = "\n".join(lines).strip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text or None


def _title(text: str | None) -> str | None:
    if not text:
        return None
    first = text.split("\n", 1)[0].strip()
    if len(first) <= TITLE_CHARS:
        return first
    cut = first[: TITLE_CHARS - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _linked_page(
    block: lxml.html.HtmlElement, text_node: lxml.html.HtmlElement | None, page_url: str
) -> str | None:
    """The article page a post links to: its link preview's, else its text's first link off
    Telegram (hashtags and mentions are Telegram's own)."""
    candidates = block.xpath(f".//a[{_has_class('tgme_widget_message_link_preview')}]/@href")
    if text_node is not None:
        candidates += text_node.xpath(".//a/@href")
    for href in candidates:
        try:
            link = urljoin(page_url, str(href).strip())
            parts = urlsplit(link)
        except ValueError:
            continue
        if scheme_of(link) not in FETCHABLE_SCHEMES or not parts.hostname:
            continue
        if parts.hostname.lower() in TELEGRAM_HOSTS or parts.query.startswith("q="):
            continue
        return link
    return None


def _text(nodes: list[lxml.html.HtmlElement]) -> str | None:
    if not nodes:
        return None
    text = _SPACES.sub(" ", nodes[0].text_content()).strip()
    return text or None


def _meta(tree: lxml.html.HtmlElement, name: str) -> str | None:
    values = tree.xpath(f"//meta[@property='{name}']/@content")
    return str(values[0]).strip() or None if values else None
