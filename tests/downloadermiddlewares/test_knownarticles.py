"""KnownArticlesMiddleware: an article page stored already (under its URL, or as a link of an
entry) is not downloaded again, unless its last fetch failed for a reason that may pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler
from sqlite_utils import Database

from pipeline import statuses
from pipeline.db.connection import open_db
from pipeline.downloadermiddlewares.ignored_requests import KnownArticle
from pipeline.downloadermiddlewares.knownarticles import KnownArticlesMiddleware, unicode_spelling
from pipeline.net.urls import normalize_url

FEED = "https://news.test/feeds/world.rss"
PAGE = "https://news.test/news/border.html"
NEW_PAGE = "https://news.test/news/new.html"
SEEN_AT = "2027-01-15T08:00:00Z"
MAX_ATTEMPTS = 3
PASSING = [
    statuses.fetch_failed(503),
    statuses.fetch_failed(429),
    statuses.fetch_failed("timeout"),
    statuses.fetch_failed("connection_refused"),
    statuses.EXTRACT_FAILED,
    statuses.NOT_FETCHED,
]
FINAL = [
    statuses.OK,
    statuses.NO_TEXT,
    statuses.NOT_HTML,
    statuses.EXTRACT_TIMEOUT,
    statuses.fetch_failed(404),
    statuses.refused("private"),
]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """The crawl's database, held open by its writer (the store) as during a crawl."""
    with open_db(tmp_path / "news.db") as database:
        database.table("feeds").insert({"id": 1, "url": FEED})
        yield database


def make_middleware(tmp_path: Path, max_attempts: int = MAX_ATTEMPTS) -> KnownArticlesMiddleware:
    settings = {
        "NEWSMON_DB_PATH": str(tmp_path / "news.db"),
        "NEWSMON_ARTICLE_MAX_ATTEMPTS": max_attempts,
    }
    return KnownArticlesMiddleware.from_crawler(get_crawler(settings_dict=settings))


@pytest.fixture
def middleware(tmp_path: Path, db: Database) -> Iterator[KnownArticlesMiddleware]:
    built = make_middleware(tmp_path)
    yield built
    built.reader.close()


def add_article(db: Database, url: str = PAGE, status: str = statuses.OK, **columns: Any) -> int:
    row = {"url": url, "status": status, "first_seen_at": SEEN_AT, "feed_id": 1, **columns}
    article_id = db.table("articles").insert(row).last_pk
    assert isinstance(article_id, int)
    return article_id


def add_entry(db: Database, article_id: int, link: str) -> None:
    row = {"feed_id": 1, "article_id": article_id, "link": link, "url": normalize_url(link)}
    db.table("entries").insert({**row, "first_seen_at": SEEN_AT})


def article_request(url: str = PAGE, **meta: Any) -> Request:
    return Request(url, meta={"newsmon_kind": "article", **meta})


def counts(middleware: KnownArticlesMiddleware) -> tuple[Any, Any]:
    stats = middleware.stats
    return stats.get_value("newsmon/articles/known"), stats.get_value("newsmon/articles/retried")


def test_a_stored_article_is_not_fetched_again(
    db: Database, middleware: KnownArticlesMiddleware
) -> None:
    add_article(db)
    with pytest.raises(KnownArticle, match=f"{PAGE} is stored already \\(ok\\)"):
        middleware.process_request(article_request())
    assert counts(middleware) == (1, None)
    middleware.process_request(article_request(NEW_PAGE))
    assert counts(middleware) == (1, None)


def test_a_link_seen_in_an_entry_is_known_through_its_article(
    db: Database, middleware: KnownArticlesMiddleware
) -> None:
    # The link redirected to the page the article is stored under.
    article_id = add_article(db, "https://news.test/2027/01/border-queues.html")
    add_entry(db, article_id, PAGE)
    with pytest.raises(KnownArticle):
        middleware.process_request(article_request())
    assert counts(middleware) == (1, None)


def test_an_entry_link_takes_the_status_of_its_article(
    db: Database, middleware: KnownArticlesMiddleware
) -> None:
    article_id = add_article(db, NEW_PAGE, statuses.fetch_failed(503), attempts=1)
    add_entry(db, article_id, PAGE)
    middleware.process_request(article_request())
    assert counts(middleware) == (None, 1)


@pytest.mark.parametrize("status", PASSING)
def test_a_passing_failure_is_retried_until_its_attempts_run_out(
    db: Database, middleware: KnownArticlesMiddleware, status: str
) -> None:
    assert statuses.may_pass(status)
    add_article(db, status=status, attempts=1)
    middleware.process_request(article_request())
    db.execute("UPDATE articles SET attempts = 2")
    middleware.process_request(article_request())
    assert counts(middleware) == (None, 2)
    db.execute("UPDATE articles SET attempts = ?", (MAX_ATTEMPTS,))
    with pytest.raises(KnownArticle):
        middleware.process_request(article_request())
    assert counts(middleware) == (1, 2)


def test_a_passing_failure_without_attempts_counts_as_one_attempt(
    db: Database, middleware: KnownArticlesMiddleware, tmp_path: Path
) -> None:
    add_article(db, status=statuses.fetch_failed(502))  # stored before attempts were counted
    middleware.process_request(article_request())
    assert counts(middleware) == (None, 1)
    single = make_middleware(tmp_path, max_attempts=1)
    with pytest.raises(KnownArticle):
        single.process_request(article_request())
    assert counts(single) == (1, None)
    single.reader.close()


@pytest.mark.parametrize("status", FINAL)
def test_a_final_status_is_never_retried(
    db: Database, middleware: KnownArticlesMiddleware, status: str
) -> None:
    assert not statuses.may_pass(status)
    add_article(db, status=status, attempts=1)
    with pytest.raises(KnownArticle):
        middleware.process_request(article_request())
    assert counts(middleware) == (1, None)


def test_a_redirected_request_is_not_checked(
    db: Database, middleware: KnownArticlesMiddleware
) -> None:
    add_article(db)
    middleware.process_request(article_request(redirect_times=1))
    assert counts(middleware) == (None, None)
    with pytest.raises(KnownArticle):  # as the same request before its redirect
        middleware.process_request(article_request(redirect_times=0))


@pytest.mark.parametrize("meta", [{}, {"newsmon_kind": "feed"}], ids=["no-kind", "feed"])
def test_requests_that_are_not_articles_are_not_checked(
    db: Database, middleware: KnownArticlesMiddleware, meta: dict[str, str]
) -> None:
    add_article(db)
    middleware.process_request(Request(PAGE, meta=meta))
    assert counts(middleware) == (None, None)


def test_without_a_database_every_article_is_fetched(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    middleware = KnownArticlesMiddleware(str(path), MemoryStatsCollector(get_crawler()))
    middleware.process_request(article_request())
    assert not path.exists()
    assert counts(middleware) == (None, None)
    middleware.reader.close()


def test_a_failed_page_with_a_non_ascii_link_is_known(
    db: Database, middleware: KnownArticlesMiddleware
) -> None:
    link = "https://news.test/новости/граница.html"
    add_article(db, normalize_url(link), statuses.fetch_failed(404), attempts=1)
    request = article_request(normalize_url(link))  # as the spider requests it
    assert request.url != normalize_url(link)  # Scrapy percent-encodes it
    with pytest.raises(KnownArticle):
        middleware.process_request(request)
    assert counts(middleware) == (1, None)


def test_a_failed_page_on_an_idn_host_is_known(
    db: Database, middleware: KnownArticlesMiddleware
) -> None:
    link = "https://Пример.РФ/новости/1"
    add_article(db, normalize_url(link), statuses.refused("private"))
    request = article_request(normalize_url(link))
    assert (
        request.url == "https://xn--e1afmkfd.xn--p1ai/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/1"
    )
    with pytest.raises(KnownArticle, match="refused"):
        middleware.process_request(request)


def test_a_non_ascii_entry_link_is_known_through_its_article(
    db: Database, middleware: KnownArticlesMiddleware
) -> None:
    link = "https://пример.рф/новости/1"
    # Fetched: the article is stored under the URL of the response, which Scrapy encoded.
    article_id = add_article(db, article_request(normalize_url(link)).url)
    add_entry(db, article_id, link)
    with pytest.raises(KnownArticle):
        middleware.process_request(article_request(normalize_url(link)))


def test_a_link_percent_encoded_in_its_feed_is_known(
    db: Database, middleware: KnownArticlesMiddleware
) -> None:
    link = "https://news.test/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/1"
    add_article(db, normalize_url(link), statuses.fetch_failed(404))
    with pytest.raises(KnownArticle):
        middleware.process_request(article_request(normalize_url(link)))


def test_a_final_status_under_either_spelling_wins(
    db: Database, middleware: KnownArticlesMiddleware
) -> None:
    link = "https://news.test/новости/1"
    request = article_request(normalize_url(link))
    add_article(db, request.url, statuses.fetch_failed(503), attempts=1)
    middleware.process_request(request)
    assert counts(middleware) == (None, 1)
    add_article(db, normalize_url(link), statuses.fetch_failed(404))
    with pytest.raises(KnownArticle, match="404"):
        middleware.process_request(request)
    assert counts(middleware) == (1, 1)


def test_an_ascii_url_is_looked_up_once_on_the_indexes(
    db: Database, middleware: KnownArticlesMiddleware, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries: list[tuple[str, tuple[Any, ...]]] = []
    fetchone = middleware.reader.fetchone

    def counted(sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        queries.append((sql, params))
        return fetchone(sql, params)

    monkeypatch.setattr(middleware.reader, "fetchone", counted)
    middleware.process_request(article_request())
    assert [params for _, params in queries] == [(PAGE, PAGE)]
    plan = db.execute(f"EXPLAIN QUERY PLAN {queries[0][0]}", queries[0][1]).fetchall()
    assert not [row for row in plan if "SCAN" in row[-1]], plan
    queries.clear()
    middleware.process_request(article_request("https://news.test/новости/1"))
    assert len(queries) == 2


@pytest.mark.parametrize(
    ("link", "spelling"),
    [
        ("https://news.test/новости/1", "https://news.test/новости/1"),
        ("https://пример.рф:8443/a%2Fb/новости", "https://пример.рф:8443/a%2Fb/новости"),
        ("https://news.test/a|b[1]", "https://news.test/a|b[1]"),
        ("https://news.test/plain.html?q=новости", None),  # the query is encoded by normalize_url
        ("https://news.test/%d0%bd", None),  # escapes Scrapy would not write: as in the feed
        ("https://news.test/%C3%28", None),  # not UTF-8
    ],
)
def test_the_unicode_spelling_of_a_request_url(link: str, spelling: str | None) -> None:
    url = article_request(normalize_url(link)).url
    assert unicode_spelling(url) == spelling
    if spelling is not None:
        assert spelling == normalize_url(link)
        assert Request(spelling).url == url
