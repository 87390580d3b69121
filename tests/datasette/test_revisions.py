"""Edits and removals in datasette: an article's versions with their word-level diff (escaped),
and the saved queries "Edited articles" and "Removed articles"."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html

from pipeline.db.connection import open_db
from tests.datasette.test_plugin import get

BEFORE = "Queues at the border grew on Sunday.\nOfficials said <b>1,200</b> people crossed."
AFTER = "Queues at the border shrank on Monday.\nOfficials said <script>alert(1)</script> crossed."


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "news.db"
    with open_db(path) as database, database.atomic():
        articles = database.table("articles")
        articles.insert(
            {"id": 1, "url": "http://news.test/1", "title": "Border closed", "text": AFTER,
             "status": "ok", "first_seen_at": "2022-09-25T08:00:00Z", "version": 2,
             "fetched_at": "2022-09-26T08:00:00Z"}
        )  # fmt: skip
        articles.insert(
            {"id": 2, "url": "http://news.test/2", "title": "Grain deal", "text": "Kept text.",
             "status": "ok", "first_seen_at": "2022-09-25T08:00:00Z",
             "removed_at": "2022-09-26T09:00:00Z", "removed_status": "fetch_failed:410"}
        )  # fmt: skip
        database.table("article_versions").insert(
            {"article_id": 1, "version": 1, "title": "Queues at the border", "text": BEFORE,
             "fetched_at": "2022-09-25T08:00:00Z", "replaced_at": "2022-09-26T08:00:00Z",
             "headline_changed": 1, "text_changed": 1}
        )  # fmt: skip
        database.table("article_changes").insert_all(
            [
                {"article_id": 1, "kind": "edited", "version": 2,
                 "detected_at": "2022-09-26T08:00:00Z"},
                {"article_id": 2, "kind": "removed", "version": 1, "status": "fetch_failed:410",
                 "detected_at": "2022-09-26T09:00:00Z"},
            ]
        )  # fmt: skip
    return path


def test_an_edited_article_shows_its_versions_word_by_word(db: Path) -> None:
    response = get(db, f"/{db.stem}/articles/1")
    assert "<script>alert(1)</script>" not in response.text  # escaped, in the row and the diff
    tree = html.fromstring(response.text)
    assert len([h for h in tree.cssselect("h2") if h.get("id") == "versions"]) == 1
    assert "Version 1 → 2" in tree.cssselect("h3")[0].text_content()
    diff = tree.cssselect(".newsmon-diff")
    removed = [d.text_content() for d in tree.cssselect(".newsmon-diff del")]
    added = [i.text_content() for i in tree.cssselect(".newsmon-diff ins")]
    assert "grew" in " ".join(removed) and "<b>1,200</b>" in " ".join(removed)
    assert "shrank" in " ".join(added) and "<script>alert(1)</script>" in " ".join(added)
    headline = diff[0]  # the headline's change too
    assert "newsmon-diff-headline" in headline.get("class")
    # no word in common: one change, not words paired up around a shared space
    assert [d.text for d in headline.cssselect("del")] == ["Queues at the border"]
    assert [i.text for i in headline.cssselect("ins")] == ["Border closed"]
    assert "edited: version 2" in tree.cssselect(".newsmon-byline")[0].text_content()


def test_a_removed_article_says_so_and_keeps_its_text(db: Path) -> None:
    tree = html.fromstring(get(db, f"/{db.stem}/articles/2").text)
    byline = tree.cssselect(".newsmon-byline")[0].text_content()
    assert "removed 2022-09-26 09:00 (fetch_failed:410), text kept" in byline
    assert "Kept text." in tree.text_content()
    assert not [h for h in tree.cssselect("h2") if h.get("id") == "versions"]


def test_saved_queries_of_edited_and_removed_articles(db: Path) -> None:
    edited = get(db, f"/{db.stem}/edited_articles.json?_shape=objects").json()["rows"]
    assert [(r["article"], r["first_headline"], r["versions"]) for r in edited] == [
        (1, "Queues at the border", 2)
    ]
    removed = get(db, f"/{db.stem}/removed_articles.json?_shape=objects").json()["rows"]
    assert [(r["article"], r["removed_status"]) for r in removed] == [(2, "fetch_failed:410")]
    page = html.fromstring(get(db, f"/{db.stem}/edited_articles").text)
    assert page.findtext(".//h1") == "Edited articles"
