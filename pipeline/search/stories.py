"""Stories for a reader: each with a headline in the reader's language, its outlets, languages,
articles, and when it was first and last seen (``newsmon stories``, ``api.stories``).

A story's headline in a language is the headline of its first article in that language (an
original, not a near-copy); a story nobody told in that language keeps its first headline,
and says which language that is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.text.story_match import outlet_of

if TYPE_CHECKING:
    from sqlite_utils import Database

ARTICLES_PER_STORY = 50  # listed per story; its outlets, languages and headlines are of all


def list_stories(
    db: Database,
    language: str | None = None,
    since: str = "",
    limit: int = 20,
    min_outlets: int = 1,
) -> list[dict[str, Any]]:
    """Stories last seen at or after ``since`` (ISO 8601 UTC, "" for all) told by at least
    ``min_outlets`` outlets: most outlets first, then the most recent."""
    rows = db.execute(
        "SELECT id, title, first_seen, last_seen, article_count, outlet_count, languages "
        "FROM stories WHERE coalesce(last_seen, '') >= ? AND coalesce(outlet_count, 1) >= ? "
        "ORDER BY outlet_count DESC, last_seen DESC, id DESC LIMIT ?",
        (since, min_outlets, limit),
    ).fetchall()
    return [story_view(db, row, language) for row in rows]


def story_view(db: Database, row: tuple[Any, ...], language: str | None) -> dict[str, Any]:
    story_id, title, first_seen, last_seen, article_count, outlet_count, languages = row
    articles = [
        {**article, "outlet": outlet(article)}
        for article in db.query(
            "SELECT id, title, url, language, site_name, published, duplicate_of AS near_copy_of "
            "FROM articles WHERE story_id = ? ORDER BY published, id LIMIT ?",
            [story_id, ARTICLES_PER_STORY],
        )
    ]
    # Outlets and headlines from all of the story's originals (``outlet_count`` counts them),
    # not only from the articles listed; its languages as ``count_story`` keeps them.
    originals = [
        {**article, "outlet": outlet(article)}
        for article in db.query(
            "SELECT title, url, language, site_name FROM articles "
            "WHERE story_id = ? AND duplicate_of IS NULL ORDER BY published, id",
            [story_id],
        )
    ] or articles
    # The story's own headline is its first article's, whose place in the list (by the date
    # stored now) can have changed since: labelled with that article's language.
    titled = next(
        (a for a in originals if a["title"] == title), originals[0] if originals else None
    )
    headline, headline_language = title, titled["language"] if titled else None
    if language:
        told = next(
            (a["title"] for a in originals if a["language"] == language and a["title"]), None
        )
        if told:
            headline, headline_language = told, language
    return {
        "id": story_id,
        "headline": headline,
        "headline_language": headline_language,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "article_count": article_count,
        "outlet_count": outlet_count,
        "languages": sorted(set((languages or "").split(",")) - {""}),
        "outlets": sorted({a["outlet"] for a in originals if a["outlet"]}),
        "articles": [  # the first ARTICLES_PER_STORY; article_count says how many
            {key: article[key] for key in ARTICLE_FIELDS} for article in articles
        ],
    }


ARTICLE_FIELDS = ("id", "title", "url", "language", "outlet", "published", "near_copy_of")


def outlet(article: dict[str, Any]) -> str | None:
    """The outlet an article is from: its site's name, else its host."""
    return article["site_name"] or outlet_of(article["url"])
