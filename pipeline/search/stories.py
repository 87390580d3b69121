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
        "SELECT id, title, first_seen, last_seen, article_count, outlet_count FROM stories "
        "WHERE coalesce(last_seen, '') >= ? AND coalesce(outlet_count, 1) >= ? "
        "ORDER BY outlet_count DESC, last_seen DESC, id DESC LIMIT ?",
        (since, min_outlets, limit),
    ).fetchall()
    return [story_view(db, row, language) for row in rows]


def story_view(db: Database, row: tuple[Any, ...], language: str | None) -> dict[str, Any]:
    story_id, title, first_seen, last_seen, article_count, outlet_count = row
    articles = [
        {
            "id": article_id,
            "title": article_title,
            "url": url,
            "language": article_language,
            "outlet": site_name or outlet_of(url),
            "published": published,
            "near_copy_of": duplicate_of,
        }
        for article_id, article_title, url, article_language, site_name, published, duplicate_of in db.execute(
            "SELECT id, title, url, language, site_name, published, duplicate_of FROM articles "
            "WHERE story_id = ? ORDER BY published, id LIMIT ?",
            (story_id, ARTICLES_PER_STORY),
        ).fetchall()
    ]
    # Outlets, languages and headlines from all of the story's articles, not only those listed.
    originals = db.execute(
        "SELECT title, language, site_name, url FROM articles WHERE story_id = ? "
        "AND duplicate_of IS NULL ORDER BY published, id",
        (story_id,),
    ).fetchall() or [(a["title"], a["language"], None, a["url"]) for a in articles]
    languages = {
        found
        for (found,) in db.execute(
            "SELECT DISTINCT language FROM articles WHERE story_id = ? AND language IS NOT NULL",
            (story_id,),
        )
    }
    # The story's own headline is its first article's, whose place in the list (by the date
    # stored now) can have changed since: labelled with that article's language.
    headline_language = next(
        (found for found_title, found, _, _ in originals if found_title == title),
        originals[0][1] if originals else None,
    )
    headline = title
    if language:
        told = [found for found, found_language, _, _ in originals if found_language == language]
        if any(told):
            headline, headline_language = next(found for found in told if found), language
    return {
        "id": story_id,
        "headline": headline,
        "headline_language": headline_language,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "article_count": article_count,
        "outlet_count": outlet_count,
        "languages": sorted(languages),
        # As ``outlet_count`` counts them: the outlets of the originals, not of copies.
        "outlets": sorted(
            {
                outlet
                for site, url in ((o[2], o[3]) for o in originals)
                if (outlet := site or outlet_of(url))
            }
        ),
        "articles": articles,  # the first ARTICLES_PER_STORY; article_count says how many
    }
