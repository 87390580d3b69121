"""Full-text search over articles: the indexes, and queries against them.

``articles_search`` (FTS5) holds each article's title and text as stems of its language,
next to the stemmer group; ``articles_fts`` keeps the words as written, for exact search (and
datasette's table search). This module writes both: the store calls ``index_new_article`` in
its batch transaction. ``search_index_state`` says which ``INDEX_DEFINITION`` the stems were made
with; ``bring_up_to_date`` rebuilds the stemmed index when it changes, and then puts every
stored article in the watchlists' queue, so that the watchlists are matched again against the
new stems (matches already made stay; new ones are added as not yet seen).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from pipeline.search.query_language import Node, compile_query, matched_terms, parse, terms
from pipeline.text.stemming import GROUPS, group_for, stem, stem_text
from pipeline.text.tokens import WORD, search_tokens

# bm25 weights of the columns title, text, stemmer: a word in the title counts four times.
RANK = "bm25(articles_search, 4.0, 1.0, 0.0)"
EXCERPT_WORDS = 30
# The definition of the stemmed index (``pipeline.text.stemming``): raise it with every change
# of how texts are stemmed, and stored articles are reindexed on the next open.
# 2: pymorphy3 lemmas for Russian and Ukrainian, full Snowball English with American spellings,
# Kazakh and Kyrgyz case endings.
INDEX_DEFINITION = 2
# Marks around the words of an excerpt that matched the query.
HIGHLIGHT = ("**", "**")
TRAILING_PUNCTUATION = frozenset(".,;:!?»\"')…]")
REINDEX_CHUNK = 500

logger = logging.getLogger(__name__)


def index_new_article(
    db: Database,
    article_id: int,
    title: str | None,
    text: str | None,
    language: str | None,
    text_stems: tuple[str, str] | None = None,
) -> None:
    """Index an article stored for the first time: its words as written (``articles_fts``; no
    trigger does it, see migration ``index_new_articles_from_the_store``) and, if it has a
    text, its stems."""
    db.execute(
        "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)", (article_id, title, text)
    )
    if text:
        index_article(db, article_id, title, text, language, text_stems)


def index_article(
    db: Database,
    article_id: int,
    title: str | None,
    text: str | None,
    language: str | None,
    text_stems: tuple[str, str] | None = None,
) -> None:
    """(Re-)index one article's title and text under its language's stems.

    ``text_stems`` are the text's stems by a stemmer group, if they were made already (by an
    extraction worker); they are used if that group is the language's.
    """
    group = group_for(language)
    if text_stems is None or text_stems[0] != group:
        text_stems = (group, stem_text(text or "", group))
    db.execute("DELETE FROM articles_search WHERE rowid = ?", (article_id,))
    db.execute(
        "INSERT INTO articles_search (rowid, title, text, stemmer) VALUES (?, ?, ?, ?)",
        (article_id, stem_text(title or "", group), text_stems[1], group),
    )


def find(
    db: Database,
    query: str,
    *,
    limit: int | None = 50,
    languages: Sequence[str] = (),
    article_ids: Iterable[int] | None = None,
    excerpts: bool = True,
) -> list[dict[str, Any]]:
    """Articles matching ``query``, best first, with the query terms that matched
    (``matched``) and, with ``excerpts``, the words of the article that matched them
    (``matched_forms``) and an excerpt where they are highlighted.

    ``languages`` keeps articles in those languages; ``article_ids`` searches only those.
    """
    node = parse(query)
    # Compiled for every stemmer group (groups with the same stemmed query share a clause), not
    # for those in the database: finding those would scan every article on every call.
    groups = GROUPS
    if languages:
        groups = tuple(sorted({group_for(language) for language in languages}))
    where = ["articles_search MATCH :expression"]
    params: dict[str, Any] = {"expression": compile_query(query, groups)}
    if languages:
        names = [f":language{i}" for i in range(len(languages))]
        where.append(f"lower(a.language) IN ({', '.join(names)})")
        params.update({f"language{i}": lang.lower() for i, lang in enumerate(languages)})
    if article_ids is not None:
        ids = sorted(set(article_ids))
        if not ids:
            return []
        where.append(f"s.rowid IN ({', '.join(str(int(i)) for i in ids)})")
    sql = f"""
        SELECT a.id, a.url, a.title, a.published, a.language, a.site_name, a.duplicate_of,
            {"a.text," if excerpts else ""} s.title AS stemmed_title, s.text AS stemmed_text,
            s.stemmer, {RANK} AS score
        FROM articles_search s JOIN articles a ON a.id = s.rowid
        WHERE {" AND ".join(where)}
        ORDER BY score
    """
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    results = []
    for row in db.query(sql, params):
        stems = f"{row.pop('stemmed_title')} {row.pop('stemmed_text')}".split()
        group = row.pop("stemmer")
        row["matched"] = matched_terms(node, group, stems)
        if excerpts:
            text = row.pop("text") or ""
            row["matched_forms"] = matched_forms(f"{row['title'] or ''} {text}", node, group)
            row["excerpt"] = excerpt(text, node, group)
        row["score"] = round(-row["score"], 3)
        results.append(row)
    return results


def _matcher(node: Node, group: str) -> Callable[[str], bool]:
    """Whether a word (from ``search_tokens``) of an article of ``group`` matches a query term."""
    wanted = {
        forms[0]
        for term in terms(node)
        for forms in term.alternatives(group)
        if len(forms) == 1 and not term.prefix
    }
    wanted |= {word for term in terms(node) if not term.prefix for word in term.forms(group)}
    prefixes = tuple(term.words[-1] for term in terms(node) if term.prefix)
    return lambda word: stem(word, group) in wanted or bool(prefixes and word.startswith(prefixes))


def matched_forms(text: str, node: Node, group: str) -> list[str]:
    """The distinct words of ``text``, as written, that match a query term, in order."""
    matches = _matcher(node, group)
    found: dict[str, None] = {}
    for piece in WORD.findall(text):
        if piece not in found and any(matches(word) for word in search_tokens(piece)):
            found[piece] = None
    return list(found)


def excerpt(text: str, node: Node, group: str, size: int = EXCERPT_WORDS) -> str:
    """About ``size`` words of the text around the first word that matches a query term, with
    the matching words in ``HIGHLIGHT`` marks."""
    matches = _matcher(node, group)
    pieces = text.split()
    hits = [any(matches(word) for word in search_tokens(piece)) for piece in pieces]
    first = next((position for position, hit in enumerate(hits) if hit), None)
    start = 0 if first is None else max(0, first - size // 3)
    chosen = [
        _highlight(piece) if hit else piece
        for piece, hit in zip(pieces[start : start + size], hits[start : start + size], strict=True)
    ]
    return ("… " if start else "") + " ".join(chosen) + (" …" if len(pieces) > start + size else "")


def _highlight(piece: str) -> str:
    """The word of a whitespace-separated piece in marks, its punctuation outside them."""
    found = WORD.search(piece)
    if found is None:
        return piece
    head, tail = piece[: found.start()], piece[found.start() :]
    end = len(tail)
    while end and tail[end - 1] in TRAILING_PUNCTUATION:
        end -= 1
    return f"{head}{HIGHLIGHT[0]}{tail[:end]}{HIGHLIGHT[1]}{tail[end:]}"


def _terminal_progress(done: int, total: int) -> None:
    end = "\n" if done >= total else ""
    print(f"\rRebuilding the search index: {done}/{total} articles", end=end, file=sys.stderr)


def bring_up_to_date(db: Database, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the stemmed index if it was made by another ``INDEX_DEFINITION`` (or never made);
    return how many articles were indexed. ``progress(done, total)`` is called between chunks;
    without one, a progress line is written to standard error if it is a terminal.

    Each chunk is its own transaction and the definition is recorded last, so a rebuild that is
    killed starts again on the next open and loses nothing.
    """
    row = db.execute("SELECT definition FROM search_index_state WHERE id = 1").fetchone()
    if row is not None and row[0] == INDEX_DEFINITION:
        return 0
    (total,) = db.execute("SELECT count(*) FROM articles WHERE text IS NOT NULL").fetchone()
    if total:
        logger.warning("Rebuilding the search index of %d articles", total)
    if progress is None and total and sys.stderr.isatty():
        progress = _terminal_progress
    with db.atomic():
        db.execute("DELETE FROM articles_search")
    done, last_id = 0, 0
    while True:
        rows = db.execute(
            "SELECT id, title, text, language FROM articles WHERE text IS NOT NULL AND id > ? "
            f"ORDER BY id LIMIT {REINDEX_CHUNK}",
            (last_id,),
        ).fetchall()
        if not rows:
            break
        with db.atomic():
            for article_id, title, text, language in rows:
                index_article(db, article_id, title, text, language)
        done, last_id = done + len(rows), rows[-1][0]
        if progress is not None:
            progress(done, total)
    with db.atomic():
        if row is not None:
            # Stems made by another definition: the watchlists are matched again against the
            # new ones (``watchlists.match_queued``); the first index needs no such pass.
            db.execute(
                "INSERT OR IGNORE INTO watchlist_queue (article_id) "
                "SELECT id FROM articles WHERE text IS NOT NULL"
            )
        db.execute(
            "INSERT INTO search_index_state (id, definition) VALUES (1, ?) "
            "ON CONFLICT(id) DO UPDATE SET definition = excluded.definition",
            (INDEX_DEFINITION,),
        )
    return done
