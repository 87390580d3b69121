"""Posts whose text is given whole (Telegram channel posts): what extraction computes for a
page, computed for the text as it is, without trafilatura and without a minimum length.

The workers' ``analyse_post`` task (``pipeline.workers.crawl_tasks``) runs it for
``pipeline.pipelines.posts.PostPipeline``.
"""

from __future__ import annotations

from typing import Any

from pipeline.text.fingerprints import fingerprint
from pipeline.text.language import detect_language
from pipeline.text.stemming import group_for, stem_text


def analyse_post(title: str | None, text: str) -> dict[str, Any]:
    """The text's language (detected), fingerprints and search stems: a post's, and a page's
    extracted text (``pipeline.parsing.articles``). No text has no language or fingerprints."""
    language = detect_language(text) if text else None
    group = group_for(language)
    return {
        "language": language,
        "fingerprints": fingerprint(title, text) if text else None,
        # Stemmed here rather than by the store, in the crawl process.
        "text_stems": (group, stem_text(text, group)),
    }
