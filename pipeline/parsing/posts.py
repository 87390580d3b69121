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
    """The post's language (detected), fingerprints and search stems."""
    language = detect_language(text)
    group = group_for(language)
    return {
        "language": language,
        "fingerprints": fingerprint(title, text),
        "text_stems": (group, stem_text(text, group)),
    }
