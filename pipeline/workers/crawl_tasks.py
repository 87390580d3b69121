"""What the crawl's worker processes run: one entry point, so that feed parsing and extraction
share the same processes (each holds its own copy of the libraries; an idle one is waste)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.parsing.articles import extract_page
from pipeline.parsing.posts import analyse_post
from pipeline.parsing.sitemaps import read_sitemap
from pipeline.parsing.sources import parse_source_or_error
from pipeline.text.embeddings import embed_stories

TASKS: dict[str, Callable[..., Any]] = {
    "extract": extract_page,
    "parse_feed": parse_source_or_error,  # a feed, a sitemap or a Telegram channel
    "analyse_post": analyse_post,
    "read_sitemap": read_sitemap,
    "embed_stories": embed_stories,
}


def run(task: str, *args: Any) -> Any:
    return TASKS[task](*args)
