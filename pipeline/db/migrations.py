"""The database schema, as ordered, idempotent migrations (``sqlite-utils migrate`` compatible).

Migrations are frozen history: once released, one is never changed in what it does to a
database, and none imports newsmon's code (which changes). Data that today's code must compute,
such as the stems of the search index, is made after migrating, by the component that owns it.
``pipeline.db.connection.open_db`` applies the pending migrations whenever it opens a database.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("newsmon")


@migrations()
def create_feeds(db: Database) -> None:
    db.table("feeds").create(
        {
            "id": int,
            "url": str,
            "title": str,
            "site_url": str,
            "category": str,
            "last_status": str,
            "last_error": str,
            "last_http_status": int,
            "last_fetched_at": str,
            "last_ok_at": str,
            "last_entries": int,
            "added_at": str,
        },
        pk="id",
        not_null={"url"},
    )
    db.table("feeds").create_index(["url"], unique=True)


@migrations()
def create_articles(db: Database) -> None:
    db.table("articles").create(
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "title": str,
            "text": str,
            "summary": str,
            "author": str,
            "published": str,
            "language": str,
            "site_name": str,
            "description": str,
            "image": str,
            "status": str,
            "error": str,
            "http_status": int,
            "feed_id": int,
            "first_seen_at": str,
            "fetched_at": str,
            "duplicate_of": int,
        },
        pk="id",
        not_null={"url", "status", "first_seen_at"},
        foreign_keys=[("feed_id", "feeds", "id"), ("duplicate_of", "articles", "id")],
    )
    db.table("articles").create_index(["url"], unique=True)
    db.table("articles").create_index(["published"])
    db.table("articles").create_index(["status"])
    db.table("articles").create_index(["feed_id"])


@migrations()
def create_entries(db: Database) -> None:
    db.table("entries").create(
        {
            "id": int,
            "feed_id": int,
            "article_id": int,
            "guid": str,
            "link": str,
            "url": str,
            "title": str,
            "published": str,
            "first_seen_at": str,
        },
        pk="id",
        not_null={"feed_id", "first_seen_at"},
        foreign_keys=[("feed_id", "feeds", "id"), ("article_id", "articles", "id")],
    )
    db.table("entries").create_index(["feed_id", "article_id"], unique=True)
    db.table("entries").create_index(["article_id"])
    db.table("entries").create_index(["url"])


@migrations()
def create_crawl_runs(db: Database) -> None:
    db.table("crawl_runs").create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "finish_reason": str,
            "feeds_total": int,
            "feeds_ok": int,
            "feeds_failed": int,
            "articles_new": int,
            "articles_updated": int,
            "articles_ok": int,
            "articles_no_text": int,
            "articles_failed": int,
            "articles_refused": int,
            "entries_new": int,
            "errors": int,
            "reasons": str,
            "stats": str,
        },
        pk="id",
        not_null={"started_at", "status"},
    )


@migrations()
def enable_articles_fts(db: Database) -> None:
    db.table("articles").enable_fts(["title", "text"], create_triggers=True)


@migrations()
def add_dedup(db: Database) -> None:
    """Exact and near-duplicate detection: text hashes and MinHash LSH buckets."""
    articles = db.table("articles")
    articles.add_column("text_hash", str)
    articles.add_column("duplicate_similarity", float)
    articles.create_index(["text_hash"])
    articles.create_index(["canonical_url"])
    articles.create_index(["duplicate_of"])
    db.execute(
        """
        CREATE TABLE near_dup_buckets (
            bucket INTEGER NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            PRIMARY KEY (bucket, article_id)
        ) WITHOUT ROWID
        """
    )


@migrations()
def add_stories(db: Database) -> None:
    """Same-event grouping: stories, the terms each article is indexed by, term frequencies."""
    db.table("stories").create(
        {
            "id": int,
            "title": str,
            "first_seen": str,
            "last_seen": str,
            "article_count": int,
            "outlet_count": int,
            "languages": str,
        },
        pk="id",
    )
    articles = db.table("articles")
    articles.add_column("story_id", int)  # references stories(id); added without a table rebuild
    articles.add_column("story_terms", str)
    articles.add_column("story_norm", float)
    articles.create_index(["story_id"])
    db.execute(
        """
        CREATE TABLE story_index (
            term TEXT NOT NULL,
            published TEXT NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            PRIMARY KEY (term, published, article_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE TABLE term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID")


@migrations()
def add_crawl_run_dedup_counts(db: Database) -> None:
    runs = db.table("crawl_runs")
    runs.add_column("articles_same", int)
    runs.add_column("articles_near_duplicate", int)
    runs.add_column("stories_new", int)


@migrations()
def add_feed_schedule(db: Database) -> None:
    """Conditional GET, feed body hashes, failure back-off; fetch attempts per article."""
    feeds = db.table("feeds")
    for column, kind in [
        ("etag", str),
        ("last_modified", str),
        ("body_hash", str),
        # Validators of the latest fetch, promoted to the three above when a crawl finishes:
        # a crawl killed before it read every entry must fetch the feed again.
        ("next_etag", str),
        ("next_last_modified", str),
        ("next_body_hash", str),
        ("consecutive_failures", int),
        ("next_due_at", str),
        ("retry_after", str),
    ]:
        feeds.add_column(column, kind)
    db.table("articles").add_column("attempts", int)
    runs = db.table("crawl_runs")
    runs.add_column("feeds_not_modified", int)
    runs.add_column("articles_known", int)
    runs.add_column("pid", int)


@migrations()
def add_feed_removed_at(db: Database) -> None:
    """Removed feeds keep their history but are not crawled."""
    db.table("feeds").add_column("removed_at", str)


@migrations()
def reindex_fts_only_when_text_changes(db: Database) -> None:
    """The full-text index is updated when an article's title or text changes, not on updates
    of its other columns (story, dedup, status)."""
    db.execute("DROP TRIGGER IF EXISTS articles_au")
    db.execute(
        """
        CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles BEGIN
          INSERT INTO articles_fts (articles_fts, rowid, title, text)
            VALUES ('delete', old.rowid, old.title, old.text);
          INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
        END
        """
    )


@migrations()
def add_stemmed_search(db: Database) -> None:
    """Search by stems in each article's language; ``search_queue`` lists articles indexed since
    the watchlists last looked. The articles stored already are indexed after migrating
    (``pipeline.search.index.bring_up_to_date``): a migration does not run today's stemmer."""
    db.execute(
        "CREATE VIRTUAL TABLE articles_search USING fts5(title, text, stemmer, "
        "tokenize = 'unicode61 remove_diacritics 0')"
    )
    db.execute("CREATE TABLE search_queue (article_id INTEGER PRIMARY KEY)")


@migrations()
def add_watchlists(db: Database) -> None:
    """Watchlists (from the user's watchlists file) and the articles that matched them."""
    db.table("watchlists").create(
        {
            "id": int,
            "name": str,
            "query": str,
            "languages": str,
            "feeds": str,
            "sites": str,
            "definition": str,
            "added_at": str,
            "changed_at": str,
            "removed_at": str,
        },
        pk="id",
        not_null={"name", "query", "definition", "added_at"},
    )
    db.table("watchlists").create_index(["name"], unique=True)
    db.table("matches").create(
        {
            "id": int,
            "watchlist_id": int,
            "article_id": int,
            "matched_terms": str,
            "matched_at": str,
            "seen_at": str,
        },
        pk="id",
        not_null={"watchlist_id", "article_id", "matched_at"},
        foreign_keys=[("watchlist_id", "watchlists", "id"), ("article_id", "articles", "id")],
    )
    db.table("matches").create_index(["watchlist_id", "article_id"], unique=True)
    db.table("matches").create_index(["article_id"])
    db.table("matches").create_index(["matched_at"])


@migrations()
def index_new_articles_from_the_store(db: Database) -> None:
    """New articles are added to ``articles_fts`` by the store, in the same batch, rather than by
    an insert trigger: FTS5 indexes each trigger's row on its own, at a much higher cost
    (measurements: docs/performance.md). Updates and deletes keep their triggers."""
    db.execute("DROP TRIGGER IF EXISTS articles_ai")


@migrations()
def rename_search_queue_to_watchlist_queue(db: Database) -> None:
    """The queue of articles the watchlists have not looked at yet is named for its reader."""
    db.execute("ALTER TABLE search_queue RENAME TO watchlist_queue")


@migrations()
def add_search_index_state(db: Database) -> None:
    """Which definition of the stemmed index ``articles_search`` holds (one row). A database whose
    index covers every article with text was indexed by definition 1; any other is reindexed."""
    db.execute(
        "CREATE TABLE search_index_state "
        "(id INTEGER PRIMARY KEY CHECK (id = 1), definition INTEGER NOT NULL)"
    )
    db.execute(
        """
        INSERT INTO search_index_state (id, definition)
        SELECT 1, 1 WHERE (SELECT count(*) FROM articles WHERE text IS NOT NULL)
            = (SELECT count(*) FROM articles_search)
        """
    )


@migrations()
def add_article_credits_and_modified(db: Database) -> None:
    """``articles.credits``: the agencies and organisations a byline credits (``author`` holds
    people's names only); ``articles.modified``: when the page says it was last changed."""
    db.execute("ALTER TABLE articles ADD COLUMN credits TEXT")
    db.execute("ALTER TABLE articles ADD COLUMN modified TEXT")


@migrations()
def add_watchlist_source(db: Database) -> None:
    """The file each watchlist comes from: syncing one file retires only its own watchlists."""
    db.table("watchlists").add_column("source", str)


@migrations()
def add_revisits_and_versions(db: Database) -> None:
    """Revisits of stored articles: the validators of each page's last fetch, how many steps of
    the revisit schedule are done, when it was last checked, when it was found removed (and the
    answer that said so); ``article_versions``, the earlier versions of edited articles;
    ``article_changes``, one row per edit, removal or return found; their counts per run."""
    for column, kind in [
        ("etag", "TEXT"),
        ("last_modified", "TEXT"),
        ("revisits", "INTEGER NOT NULL DEFAULT 0"),
        ("last_checked_at", "TEXT"),
        ("version", "INTEGER NOT NULL DEFAULT 1"),
        ("removed_at", "TEXT"),
        ("removed_status", "TEXT"),
    ]:
        db.execute(f"ALTER TABLE articles ADD COLUMN {column} {kind}")
    db.execute("CREATE INDEX idx_articles_revisits ON articles (revisits, first_seen_at)")
    db.execute("CREATE INDEX idx_articles_removed_at ON articles (removed_at)")
    db.execute(
        """
        CREATE TABLE article_versions (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            version INTEGER NOT NULL,
            title TEXT,
            text TEXT,
            fetched_at TEXT,
            replaced_at TEXT NOT NULL,
            headline_changed INTEGER NOT NULL DEFAULT 0,
            text_changed INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute(
        "CREATE UNIQUE INDEX idx_article_versions_article_version "
        "ON article_versions (article_id, version)"
    )
    db.execute(
        """
        CREATE TABLE article_changes (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            kind TEXT NOT NULL,
            version INTEGER,
            status TEXT,
            detail TEXT,
            detected_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_article_changes_detected_at ON article_changes (detected_at)")
    db.execute("CREATE INDEX idx_article_changes_article_id ON article_changes (article_id)")
    runs = db.table("crawl_runs")
    for column in ("revisits", "revisits_not_modified", "articles_edited", "articles_removed",
                   "articles_returned"):  # fmt: skip
        runs.add_column(column, int)


@migrations()
def add_feed_kind(db: Database) -> None:
    """``feeds.kind``: what the feed URL serves, ``feed`` (RSS, Atom, JSON Feed), ``sitemap``
    (a news or plain sitemap) or ``telegram`` (a channel's preview page). Every feed listed
    before is a feed."""
    db.execute("ALTER TABLE feeds ADD COLUMN kind TEXT")
    db.execute("UPDATE feeds SET kind = 'feed'")


@migrations()
def add_story_vectors(db: Database) -> None:
    """Each original article's headline embedding (384 signed bytes), the model and input it was
    computed from (``method``), and its name and number keys, for grouping stories across
    languages. Looked up by method and publication time (the story window)."""
    db.execute(
        """
        CREATE TABLE story_vectors (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            method TEXT NOT NULL,
            published TEXT,
            vector BLOB NOT NULL,
            keys TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX story_vectors_by_time ON story_vectors (method, published)")


@migrations()
def add_cluster_applied(db: Database) -> None:
    """Crawls on several machines: ``cluster_applied`` holds the tasks whose results the writer
    stored (a result delivered again changes nothing); ``crawl_runs.nodes`` each node's figures
    (JSON)."""
    db.execute(
        "CREATE TABLE cluster_applied (task TEXT PRIMARY KEY, run_id INTEGER, "
        "applied_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_cluster_applied_applied_at ON cluster_applied (applied_at)")
    db.table("crawl_runs").add_column("nodes", str)


@migrations()
def add_story_pending(db: Database) -> None:
    """Unique articles stored during a crawl's page phase whose story is still to be decided by
    their embedding (in the stories phase at the end of the run, or by the next run if that was
    killed), in order of their publication time in UTC."""
    db.execute(
        """
        CREATE TABLE story_pending (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            published TEXT
        )
        """
    )
    db.execute("CREATE INDEX story_pending_by_time ON story_pending (published)")
