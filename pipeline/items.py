"""Items passed from the spider to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.text.fingerprints import Fingerprints


@dataclass
class FeedItem:
    """The outcome of fetching one feed: stored as a ``feeds`` row."""

    url: str
    status: str  # a feed status of pipeline.statuses
    title: str | None = None
    site_url: str | None = None
    category: str | None = None
    error: str | None = None
    http_status: int | None = None
    entries: int = 0
    fetched_at: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait
    kind: str | None = None  # feed, sitemap or telegram (pipeline.parsing.sources)


@dataclass
class Entry:
    """One entry of a feed, as the feed describes it."""

    feed_url: str
    link: str | None  # absolute, as published (tracking parameters kept)
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    published: str | None = None  # ISO 8601 UTC
    author: str | None = None
    language: str | None = None  # the feed's declared language


@dataclass
class ArticleItem:
    """An article: its feed entry, the fetched page, and what extraction made of it.

    ``status`` says what happened, in the words of ``pipeline.statuses``: downloaded and not
    yet extracted, extracted, failed and why, refused and why, or seen (the same page was
    already requested in this run through another feed).
    """

    url: str  # normalised URL the article is stored under
    entry: Entry
    status: str
    body: bytes | None = None  # the page as downloaded, until it is extracted
    content_type: str | None = None  # its Content-Type header, for its charset
    http_status: int | None = None
    fetched_at: str | None = None
    error: str | None = None
    title: str | None = None
    text: str | None = None
    author: str | None = None  # people's names, "; " between them
    credits: str | None = None  # agencies and other organisations credited, "; " between them
    published: str | None = None  # ISO 8601: UTC with Z, local time without a zone, or a day
    modified: str | None = None  # the same forms, when the page says it
    language: str | None = None
    site_name: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    requested_urls: list[str] = field(default_factory=list)
    fingerprints: Fingerprints | None = None  # of the text, set by extraction
    # The text's stems for the search index (pipeline.search.index), by the worker: (stemmer
    # group of the language it detected, stems).
    text_stems: tuple[str, str] | None = None
    # Dedup decisions (pipeline.pipelines.dedup), by URL: the store turns them into ids.
    same_as_url: str | None = None  # the same article, stored under this URL: only a sighting
    duplicate_of_url: str | None = None  # a near-copy of this article
    duplicate_similarity: float | None = None
    story_of_url: str | None = None  # belongs to the story of this article
    story_index_terms: list[str] = field(default_factory=list)
    story_norm: float | None = None
    # Stored in a provisional story of its own, decided after the page phase by its embedding
    # (pipeline.pipelines.story_phase).
    story_pending: bool = False
    # Validators of the page's response, sent back when it is revisited (pipeline.revisits).
    etag: str | None = None
    last_modified: str | None = None
    revisit: Revisit | None = None  # set when this is a re-check of a stored article


@dataclass
class Revisit:
    """A stored article due for a re-check, as plain values (``pipeline.revisits.schedule``):
    what the request needs and what the store writes back after the check."""

    article_id: int
    url: str
    feed_url: str
    entry_title: str | None = None  # the feed's title of the first sighting, for choose_title
    etag: str | None = None
    last_modified: str | None = None
    removed: bool = False  # found removed by an earlier check
    steps_done: int = 0  # ``articles.revisits`` to store once the check is done
