from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.exceptions import FeedListError
from pipeline.parsing.feed_lists import FeedSource, load_feed_list

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Central Asia" title="Central Asia">
      <outline text="Eurasianet" title="Eurasianet" type="rss"
               xmlUrl="https://eurasianet.org/rss" htmlUrl="https://eurasianet.org/"/>
      <outline text="Kazakh" title="Kazakh">
        <outline text="Azattyq" type="rss" xmlUrl="https://rus.azattyq.org/api/zrqiteuuir"/>
      </outline>
    </outline>
    <outline text="Meduza" type="rss" xmlUrl="https://meduza.io/rss/all" category="/ru,/independent"/>
    <outline text="duplicate" type="rss" xmlUrl="https://meduza.io/rss/all"/>
  </body>
</opml>
"""


def write(tmp_path: Path, text: str | bytes, name: str = "feeds") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def test_opml_nested_outlines_titles_and_categories(tmp_path: Path) -> None:
    feeds = load_feed_list(write(tmp_path, OPML, "feeds.opml"))
    assert feeds == [
        FeedSource("https://eurasianet.org/rss", "Eurasianet", "Central Asia"),
        FeedSource("https://rus.azattyq.org/api/zrqiteuuir", "Azattyq", "Central Asia/Kazakh"),
        FeedSource("https://meduza.io/rss/all", "Meduza", "/ru,/independent"),
    ]


def test_plain_list_with_comments_and_bom(tmp_path: Path) -> None:
    text = "\ufeff# news\nhttps://a.example/rss\n\n  https://b.example/feed.xml  \n# end\n"
    assert [f.url for f in load_feed_list(write(tmp_path, text))] == [
        "https://a.example/rss",
        "https://b.example/feed.xml",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<rss><channel/></rss>", "not OPML"),
        ("<opml version='2.0'><body><outline text='x'/></body></opml>", "lists no feeds"),
        ("<opml version='2.0'><body><outline", "not well-formed"),
        ("ftp://example.org/feed\n", r"not an http\(s\) feed URL"),
        ("https://a.example/rss and more words\n", "one URL per line"),
        ("# only comments\n", "no feed URLs"),
        (b"\xff\xfe\x00garbage", "must be UTF-8"),
    ],
)
def test_unusable_lists_get_a_clear_error(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    with pytest.raises(FeedListError, match=message):
        load_feed_list(write(tmp_path, content))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FeedListError, match="cannot read feed list"):
        load_feed_list(tmp_path / "nope.opml")


def test_default_feed_list_is_valid_opml() -> None:
    feeds = load_feed_list(Path(__file__).parents[2] / "feeds.opml")
    assert len(feeds) >= 10
    assert all(feed.title and feed.category for feed in feeds)


def test_telegram_channels_are_listed_as_their_preview_pages(tmp_path: Path) -> None:
    path = tmp_path / "feeds.txt"
    lines = ["@steppe_news", "https://t.me/other_news", "https://t.me/s/steppe_news"]
    path.write_text("\n".join([*lines, "https://news.test/t.me/rss"]) + "\n")
    assert [feed.url for feed in load_feed_list(path)] == [
        "https://t.me/s/steppe_news",
        "https://t.me/s/other_news",
        "https://news.test/t.me/rss",
    ]
