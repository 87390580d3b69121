"""Every status newsmon records, in one place: of articles, of feeds, and of crawl runs.

A status is what a user reads in ``articles.status``, ``feeds.last_status`` and
``crawl_runs.status`` (and in the stats as ``newsmon/articles/status/<status>`` and
``newsmon/feeds/status/<status>``) to see why an article has no text or a feed no entries.
Composite statuses carry their reason after a colon: ``fetch_failed:404``,
``fetch_failed:timeout``, ``refused:private``. No other module spells a status out; they use
the names and functions here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Articles (``articles.status``) -------------------------------------------------------------
OK = "ok"  # fetched, and a main text of at least NEWSMON_MIN_TEXT_CHARS was extracted
NO_TEXT = "no_text"  # fetched, but no main text (or a shorter one) was found
NOT_HTML = "not_html"  # the link is not a web page (an image, a PDF, JSON ...)
NO_LINK = "no_link"  # the feed entry has no link to fetch
NOT_FETCHED = "not_fetched"  # listed, not fetched in this run (attempts used up, or never sent)
EXTRACT_FAILED = "extract_failed"  # the extraction worker raised or died on the page
EXTRACT_TIMEOUT = "extract_timeout"  # extraction took over NEWSMON_EXTRACT_TIMEOUT
EXTRACT_TOO_LARGE = "extract_too_large"  # extraction needed over NEWSMON_EXTRACT_MEMORY_MB
FETCH_FAILED = "fetch_failed"  # prefix: fetch_failed:<HTTP status or reason>
REFUSED = "refused"  # prefix: refused:<reason>, a request newsmon would not send
# Between the spider and the store only, never stored as an article's status:
FETCHED = "fetched"  # downloaded, waiting for extraction
SEEN = "seen"  # a link to a page stored already: stored as one more sighting (``entries``)

# Feeds (``feeds.last_status``): OK, NOT_MODIFIED, UNCHANGED and NO_ENTRIES are healthy -------
NOT_MODIFIED = "not_modified"  # 304 to a conditional request
UNCHANGED = "unchanged"  # 200 with the same bytes as last time (a server ignoring validators)
NO_ENTRIES = "no_entries"  # a feed without entries
NOT_A_FEED = "not_a_feed"  # an HTML page or JSON that is not a feed
PARSE_ERROR = "parse_error"  # not readable as a feed
EMPTY = "empty"  # an empty response
TOO_LARGE = "too_large"  # a compressed feed that inflates past its size limit
# ... and FETCH_FAILED and REFUSED statuses, as for articles.
HEALTHY_FEED_STATUSES = frozenset({OK, NO_ENTRIES, NOT_MODIFIED, UNCHANGED})
# A feed whose body was read in full: its validators and body hash may be sent next time.
READ_FEED_STATUSES = frozenset({OK, NO_ENTRIES})
# A feed whose entries were not read again: its entry count stays the last one read.
UNREAD_FEED_STATUSES = frozenset({NOT_MODIFIED, UNCHANGED})

# Crawl runs (``crawl_runs.status``) -----------------------------------------------------------
RUN_RUNNING = "running"  # under way, or its process was killed before it could say
RUN_KILLED = "killed"  # a later crawl found it still running: its process ended abruptly
RUN_OK = "ok"
RUN_PARTIAL = "partial"  # finished, but some feeds failed
RUN_FAILED = "failed"  # no feed could be read, or the database could not be written
RUN_INTERRUPTED = "interrupted"  # stopped before the end (a signal, a shutdown)


def counts_in_stats(stats: Mapping[str, Any], kind: str) -> dict[str, int]:
    """How many ``kind`` ("articles" or "feeds") a crawl recorded with each status, from its
    stats (``newsmon/<kind>/status/<status>``, counted by the store)."""
    prefix = f"newsmon/{kind}/status/"
    return {
        key[len(prefix) :]: int(value) for key, value in stats.items() if key.startswith(prefix)
    }


def fetch_failed(reason: str | int) -> str:
    """``fetch_failed:<reason>``: an HTTP status (404) or a transport reason (``timeout``)."""
    return f"{FETCH_FAILED}:{reason}"


def refused(reason: str) -> str:
    """``refused:<reason>``: ``private``, ``scheme``, ``robots``, ``url_too_long`` ..."""
    return f"{REFUSED}:{reason}"


def is_fetch_failure(status: str) -> bool:
    return status.startswith(FETCH_FAILED + ":")


def is_refusal(status: str) -> bool:
    return status.startswith(REFUSED + ":")


def is_failure(status: str) -> bool:
    """Whether an article's or a feed's status says that something went wrong: a failed fetch,
    a refusal, a body that is not a feed, an extraction that failed."""
    return (
        is_fetch_failure(status)
        or is_refusal(status)
        or status
        in (NOT_A_FEED, PARSE_ERROR, EMPTY, EXTRACT_FAILED, EXTRACT_TIMEOUT, EXTRACT_TOO_LARGE)
    )


# Failures that may pass: such a page is fetched again on a later run, up to
# NEWSMON_ARTICLE_MAX_ATTEMPTS times (a 404, a refusal or a non-HTML page is final).
_PASSING_FAILURE = re.compile(
    rf"^({FETCH_FAILED}:(5\d\d|408|429|timeout|dns|connection_refused|data_loss|\w*error\w*)"
    rf"|{EXTRACT_FAILED}|{NOT_FETCHED})$"
)


def may_pass(status: str) -> bool:
    """Whether a failed article's status is worth another fetch on a later run."""
    return _PASSING_FAILURE.match(status) is not None


# Revisits of stored articles (``pipeline.revisits``) -----------------------------------------
# ``articles.removed_status``: the answer that said a page was taken down, a 404 or a 410
# (``fetch_failed:404``, ``fetch_failed:410``), or this: a redirect to the site's front page or
# to a section page above the article's own.
REDIRECTED_TO_SECTION = "redirected_to_section"
REMOVAL_HTTP_STATUSES = frozenset({404, 410})
# ``article_changes.kind``
CHANGE_EDITED = "edited"  # the text or headline changed in substance: a new version
CHANGE_REMOVED = "removed"  # taken down (see ``articles.removed_status``)
CHANGE_RETURNED = "returned"  # answered again with its page after it was found removed


_REMOVALS = frozenset(
    {REDIRECTED_TO_SECTION, *(fetch_failed(code) for code in REMOVAL_HTTP_STATUSES)}
)


def is_removal(status: str) -> bool:
    """Whether a revisit's answer says the page was taken down (a 404, a 410, or a redirect to
    the site's front or a section page). Time-outs, 5xx and refused connections never do."""
    return status in _REMOVALS
