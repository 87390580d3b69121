"""Telegram channel preview pages: posts, their text, time, links; channel addresses."""

from __future__ import annotations

import pytest

from pipeline.exceptions import FeedParseError
from pipeline.parsing.sources import parse_source, source_kind
from pipeline.parsing.telegram import (
    ParsedChannel,
    channel_feed_url,
    looks_like_channel,
    parse_channel,
)
from tests.parsing.test_sitemaps import BASE, outlet

PAGE = f"{BASE}/s/steppe_news"


def first_page() -> ParsedChannel:
    return parse_channel(outlet("s/steppe_news"), PAGE)


def older_page() -> ParsedChannel:
    return parse_channel(outlet("s/steppe_news@before=101"), f"{PAGE}?before=101")


def test_a_channel_page_gives_its_posts_oldest_first_with_permalinks() -> None:
    parsed = first_page()
    assert (parsed.format, parsed.channel, parsed.title) == (
        "telegram",
        "steppe_news",
        "Степные новости",
    )
    assert parsed.site_url == "https://t.me/steppe_news"
    assert [post.number for post in parsed.posts] == list(range(101, 111))
    post = parsed.posts[0]
    assert post.entry.link == "https://t.me/steppe_news/101"
    assert post.entry.guid == "steppe_news/101"
    assert post.entry.published == "2026-10-22T04:00:00Z"
    assert post.text == "Мажилис одобрил бюджет на три года."
    assert parsed.older_page == f"{PAGE}?before=101"


def test_a_long_post_keeps_its_whole_text_and_its_paragraphs() -> None:
    post = {post.number: post for post in older_page().posts}[92]
    assert post.text is not None
    assert post.text.startswith("Қазақстанда биыл астық өнімі рекордтық деңгейге жетті.\n\n")
    assert post.text.endswith("Каспий порттарына баратын пойыздар санын көбейтеді.")
    assert post.entry.title == "Қазақстанда биыл астық өнімі рекордтық деңгейге жетті."
    assert post.entry.summary == post.text


def test_forwarded_signed_media_only_and_reply_posts() -> None:
    posts = {post.number: post for post in first_page().posts + older_page().posts}
    assert posts[93].forwarded_from == "Вести Азии"
    assert posts[107].entry.author == "Aigerim S."
    photo = posts[94]
    assert (photo.text, photo.media, photo.entry.title) == (None, "photo", "Степные новости: photo")
    assert posts[98].media == "video"
    assert posts[98].text == "Video: the first snow on the Medeu rink this morning."
    reply = posts[108]
    assert reply.text == "Уточнение: мост откроют в субботу, а не в пятницу."  # not the quote


def test_a_post_links_to_its_article_page_but_not_to_telegram() -> None:
    posts = {post.number: post for post in first_page().posts + older_page().posts}
    assert posts[95].link == f"{BASE}/news/tg-link-2.html"
    assert posts[100].link == f"{BASE}/news/tg-link-1.html"  # the link preview
    assert posts[103].link == f"{BASE}/news/n3-wheat.html"
    assert posts[97].link is None  # a hashtag and a mention only
    assert posts[91].link is None


def test_the_last_page_has_no_older_page() -> None:
    parsed = older_page()
    assert [post.number for post in parsed.posts] == list(range(91, 101))
    assert parsed.older_page is None


def test_channel_pages_are_told_from_their_bodies_wherever_served() -> None:
    body = outlet("s/steppe_news")
    assert looks_like_channel(body)
    parsed = parse_source(body, "http://127.0.0.1:8000/anything", {})
    assert isinstance(parsed, ParsedChannel)
    assert source_kind(parsed.format) == "telegram"
    assert not looks_like_channel(outlet("news/n1-bridge.html"))


def test_a_page_without_posts_is_not_a_channel() -> None:
    with pytest.raises(FeedParseError) as raised:
        parse_channel(b"<html><body><p>tgme_widget_message data-post</p></body></html>", PAGE)
    assert raised.value.reason == "not_a_feed"


@pytest.mark.parametrize(
    "given",
    [
        "@steppe_news",
        "https://t.me/steppe_news",
        "t.me/steppe_news",
        "https://t.me/s/steppe_news",
        "t.me/s/steppe_news",
        "http://telegram.me/steppe_news/",
        "https://t.me/steppe_news/105",
    ],
)
def test_what_a_user_types_for_a_channel_is_its_preview_url(given: str) -> None:
    assert channel_feed_url(given) == "https://t.me/s/steppe_news"


@pytest.mark.parametrize(
    "given",
    ["https://example.kz/", "@x", "https://t.me/joinchat/AAAA", "https://t.me/", "@no spaces"],
)
def test_other_addresses_are_not_channels(given: str) -> None:
    assert channel_feed_url(given) is None


def test_a_page_keeps_its_own_channels_posts_only() -> None:
    body = outlet("s/steppe_news").replace(
        b'data-post="steppe_news/105"', b'data-post="bbcrussian/105"'
    )
    on_telegram = parse_channel(body, "https://t.me/s/steppe_news")
    assert 105 not in [post.number for post in on_telegram.posts]
    assert len(on_telegram.posts) == 9
    elsewhere = parse_channel(body, PAGE)  # the channel most posts are of
    assert elsewhere.channel == "steppe_news"
    assert 105 not in [post.number for post in elsewhere.posts]
    other = parse_channel(outlet("s/steppe_news"), "https://t.me/s/bbcrussian")
    assert other.posts == [] and other.older_page is None
