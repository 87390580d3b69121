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
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
# 2: full Snowball English with American spellings, Kazakh and Kyrgyz case endings, Russian and
# Ukrainian lemmatized; 3: Russian and Ukrainian stemmed alone again (their forms are the query's).
INDEX_DEFINITION = 3
# Marks around the words of an excerpt that matched the query.
HIGHLIGHT = ("**", "**")
PIECE = re.compile(r"\S+")
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
    *,
    replace: bool = True,
) -> None:
    """(Re-)index one article's title and text under its language's stems.

    ``text_stems`` are the text's stems by a stemmer group, if they were made already (by an
    extraction worker); they are used if that group is the language's. ``replace``: False when
    the article is surely not in the index (a rebuild, which emptied it first).
    """
    group = group_for(language)
    if text_stems is None or text_stems[0] != group:
        text_stems = (group, stem_text(text or "", group))
    if replace:
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
    keys_by_group: dict[str, QueryKeys] = {}
    for row in db.query(sql, params):
        title_stems, text_stems = row.pop("stemmed_title").split(), row.pop("stemmed_text").split()
        group = row.pop("stemmer")
        row["matched"] = matched_terms(node, group, title_stems + text_stems)
        if excerpts:
            text, title = row.pop("text") or "", row["title"] or ""
            if group not in keys_by_group:
                keys_by_group[group] = query_keys(node, group)
            keys = keys_by_group[group]
            in_text = matching_spans(text, node, group, text_stems, keys)
            in_title = matching_spans(title, node, group, title_stems, keys)
            forms = [title[a:b] for a, b in in_title] + [text[a:b] for a, b in in_text]
            row["matched_forms"] = list(dict.fromkeys(forms))
            row["excerpt"] = excerpt(text, in_text)
        row["score"] = round(-row["score"], 3)
        results.append(row)
    return results


@dataclass(frozen=True)
class QueryKeys:
    """What a query's words look like in one stemmer group: the stems any of them matches, and
    the folded beginnings of its prefix terms."""

    stems: frozenset[str]
    prefixes: tuple[str, ...]


def query_keys(node: Node, group: str) -> QueryKeys:
    query_terms = terms(node)
    stems = frozenset(
        key
        for term in query_terms
        if not term.prefix
        for forms in term.alternatives(group)
        for key in forms
    )
    return QueryKeys(stems, tuple(term.words[-1] for term in query_terms if term.prefix))


def matching_spans(
    text: str,
    node: Node,
    group: str,
    stems: list[str] | None = None,
    keys: QueryKeys | None = None,
) -> list[tuple[int, int]]:
    """Where the words of ``text`` that match a query term are (start and end offsets).

    ``stems`` are the text's stems as indexed (one per word, in order), if they are at hand;
    they are made again if they are not, or do not line up with the words. ``keys``: the
    query's ``query_keys`` for ``group``, if they were made already.
    """
    keys = keys or query_keys(node, group)
    wanted, prefixes = keys.stems, keys.prefixes
    words = list(WORD.finditer(text))
    if stems is None or len(stems) != len(words):
        stems = [_stem_of(match[0], group) for match in words]
    spans = []
    for match, key in zip(words, stems, strict=True):
        if key in wanted or (prefixes and _folded(match[0]).startswith(prefixes)):
            spans.append(match.span())
    return spans


def _folded(word: str) -> str:
    tokens = search_tokens(word)
    return tokens[0] if tokens else ""


def _stem_of(word: str, group: str) -> str:
    folded = _folded(word)
    return stem(folded, group) if folded else ""


def excerpt(text: str, spans: list[tuple[int, int]], size: int = EXCERPT_WORDS) -> str:
    """About ``size`` words of the text around the first of ``spans`` (the words that matched),
    with those words in ``HIGHLIGHT`` marks."""
    hit = spans[0][0] if spans else 0
    lead: deque[tuple[int, int]] = deque(maxlen=size // 3)
    chosen: list[tuple[int, int]] = []
    skipped = more = False
    for match in PIECE.finditer(text):
        if not chosen and match.end() <= hit:
            skipped = skipped or len(lead) == lead.maxlen
            lead.append(match.span())
            continue
        if len(lead) + len(chosen) >= size:
            more = True
            break
        chosen.append(match.span())
    chosen = [*lead, *chosen]
    if not chosen:
        return ""
    begin, end = chosen[0][0], chosen[-1][1]
    marked, position = [], begin
    for a, b in spans:
        if a >= begin and b <= end:
            marked += [text[position:a], HIGHLIGHT[0], text[a:b], HIGHLIGHT[1]]
            position = b
    marked.append(text[position:end])
    body = " ".join("".join(marked).split())
    return ("… " if skipped else "") + body + (" …" if more else "")


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
                index_article(db, article_id, title, text, language, replace=False)
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
