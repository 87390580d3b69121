"""The reading view of the datasette pages (pipeline.datasette.reading): the home page's stories
and watchlists, the articles table's reading columns, an article's page, notices on saved
queries, readable dates and the chart's axis."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from lxml import html

from pipeline.datasette.chart import draw_chart
from pipeline.datasette.reading import (
    READING_COLUMNS,
    readable_date,
    reading_columns_redirect,
)
from tests.conftest import Crawl
from tests.datasette.test_plugin import get


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2022-09-25T08:30:00Z", "2022-09-25 08:30 UTC"),
        ("2022-09-25T08:30:00+03:00", "2022-09-25 08:30 +0300"),
        ("2022-09-25T08:30:00", "2022-09-25 08:30"),
        ("2022-09-25", "2022-09-25"),
        ("yesterday", None),
        ("", None),
    ],
)
def test_readable_dates(value: str, shown: str | None) -> None:
    assert readable_date(value) == shown


def test_the_articles_table_opens_on_its_reading_columns() -> None:
    target = reading_columns_redirect("/news/articles", "")
    assert target is not None
    assert target.startswith("/news/articles?_col=title&")
    assert reading_columns_redirect("/news/articles", "_sort=id") == (
        "/news/articles?_sort=id&" + target.split("?", 1)[1]
    )
    for chosen in ("_col=text", "_nocol=image", "_all=1"):
        assert reading_columns_redirect("/news/articles", chosen) is None
    for other in ("/news/articles.json", "/news/feeds", "/news", "/news/articles/3", "/"):
        assert reading_columns_redirect(other, "") is None


def page(crawl: Crawl, path: str) -> html.HtmlElement:
    response = get(crawl.db, path)
    return html.fromstring(response.text)


def test_the_home_page_shows_the_biggest_stories_and_the_watchlists(crawl: Crawl) -> None:
    name = crawl.db.stem
    tree = page(crawl, "/")
    headlines = [a.text_content() for a in tree.cssselect(".newsmon-stories a")]
    # The English and Russian reports of the border queues are one story, under the headline
    # of the first decided.
    border = {
        "Queues grow at the Kazakh border as men leave Russia",
        "На границе с Казахстаном выросли очереди",
    }
    assert len(border & set(headlines)) == 1, headlines
    first = tree.cssselect(".newsmon-stories li")[0].text_content()
    assert re.search(r"[2-9] outlets", first), first  # the biggest story comes first
    links = [a.get("href") for a in tree.cssselect(".newsmon-stories a")]
    assert all(link.startswith(f"/{name}/story?story_id=") for link in links)
    watchlists = [a.text_content() for a in tree.cssselect(".newsmon-watchlists a")]
    assert {"border", "exodus", "rivers"} <= set(watchlists)


def test_the_articles_table_shows_few_readable_columns(crawl: Crawl) -> None:
    name = crawl.db.stem
    response = get(crawl.db, f"/{name}/articles", status=302)
    target = response.headers["location"]
    tree = page(crawl, target)
    headers = [th.get("data-column") for th in tree.cssselect("table.rows-and-columns th")]
    assert headers == ["id", *READING_COLUMNS]
    assert len(headers) <= 10
    titles = tree.cssselect("td.col-title a")
    assert titles and all(a.get("href").startswith(f"/{name}/articles/") for a in titles)
    everything = page(crawl, f"/{name}/articles?_all=1")
    assert len(everything.cssselect("table.rows-and-columns th")) > 20


def test_an_article_page_is_titled_by_its_headline_with_its_story(crawl: Crawl) -> None:
    name = crawl.db.stem
    story = get(crawl.db, f"/{name}/top_stories.json?_shape=objects").json()["rows"][0]
    rows = get(crawl.db, f"/{name}/story.json?story_id={story['story']}&_shape=objects").json()
    article = rows["rows"][0]
    tree = page(crawl, f"/{name}/articles/{article['article']}")
    assert tree.findtext(".//title") == article["title"]
    assert tree.cssselect("h1.newsmon-headline")[0].text_content() == article["title"]
    byline = tree.cssselect(".newsmon-byline")[0].text_content()
    assert article["site_name"] in byline and article["language"] in byline
    others = [a.text_content() for a in tree.cssselect(".newsmon-related li a")]
    assert others, "the story's other articles are listed"
    assert "Seen in" in tree.text_content()


def test_saved_queries_hide_their_sql_and_link_ids(crawl: Crawl) -> None:
    name = crawl.db.stem
    tree = page(crawl, f"/{name}/top_stories")
    assert not tree.cssselect("textarea"), "the SQL is hidden"
    stories = tree.cssselect("td.col-story a")
    assert stories and all(a.get("href").startswith(f"/{name}/story?story_id=") for a in stories)
    articles = page(crawl, f"/{name}/latest").cssselect("td.col-article a")
    assert articles and all(a.get("href").startswith(f"/{name}/articles/") for a in articles)


def test_a_malformed_query_and_an_unknown_watchlist_are_explained(crawl: Crawl) -> None:
    name = crawl.db.stem
    tree = page(crawl, f"/{name}/search?q={quote('(border')}")
    notice = tree.cssselect(".newsmon-notice")[0].text_content()
    assert "could not be read" in notice and "its words were searched instead" in notice
    tree = page(crawl, f"/{name}/watchlist?name=nosuch")
    notice = tree.cssselect(".newsmon-notice")[0].text_content()
    assert "no watchlist named 'nosuch'" in notice and "border" in notice
    assert not page(crawl, f"/{name}/watchlist?name=border").cssselect(".newsmon-notice")
    assert not page(crawl, f"/{name}/search?q=border").cssselect(".newsmon-notice")


@pytest.mark.parametrize(
    ("top", "labels"), [(1, ["0", "1"]), (2, ["0", "1", "2"]), (7, ["0", "3", "7"])]
)
def test_the_chart_axis_labels_each_count_once(top: int, labels: list[str]) -> None:
    svg, _ = draw_chart(["2026-11-01"], [("2026-11-01", "feed", top)])
    axis = re.findall(r'text-anchor="end" font-size="11">(\d+)</text>', svg)
    assert axis == labels


def test_only_web_links_are_links_on_an_article_page() -> None:
    from pipeline.datasette.reading import web_link

    assert web_link("https://meduza.io/news/1") == "https://meduza.io/news/1"
    assert web_link(" HTTP://example.com/a ") == "HTTP://example.com/a"
    for listed in ("javascript:alert(document.domain)", "JavaScript:alert(1)", "data:text/html,x",
                   "urn:newsmon:entry:4dfc", "file:///etc/passwd", "", None):  # fmt: skip
        assert web_link(listed) is None, listed


@pytest.mark.parametrize(
    ("query", "expression"),
    [
        ("COVID-19", '"covid 19"'),
        ("Улан-Удэ", '"улан удэ"'),
        ("border's", '"border s"'),
        ("U.S.", '"u s"'),
        ('"Верхний Ларс" OR checkpoint', '"верхний ларс" OR "checkpoint"'),
        ("mobil*", '"mobil"*'),
        ("title:x", '"title x"'),
        ("a OR", '"a"'),
        ("OR NOT a", '"a"'),
        ('"', '""'),
        ("*", '""'),
    ],
)
def test_exact_search_reads_what_fts5_would_take_for_syntax_as_words(
    query: str, expression: str
) -> None:
    from pipeline.datasette.hooks import exact_expression

    assert exact_expression(query) == expression


def test_search_boxes_take_hyphens_apostrophes_and_dots(crawl: Crawl) -> None:
    name = crawl.db.stem
    for query in ("COVID-19", "Улан-Удэ", "border's", "U.S.", "-border", '"'):
        get(crawl.db, f"/{name}/exact_search?q={quote(query)}")
    for query in ("COVID-19", "Улан-Удэ", "border's", "U.S.", "-border"):
        get(crawl.db, f"/{name}/articles?_col=title&_search={quote(query)}")
    found = get(crawl.db, f"/{name}/exact_search.json?q={quote('Kazakh-border')}&_shape=objects")
    assert isinstance(found.json()["rows"], list)
