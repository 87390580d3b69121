"""Search cost: indexing time per article, and query latency on a database of 100,000 articles.

A synthetic database is built in a temporary directory: articles in Russian, Ukrainian and
English (in that proportion 5:2:3) of 200 words each, drawn from the words of the test site's
pages and the region's names in every case form, with a long tail of made-up surnames and
English words in their inflected forms (a fifth of the words), so that the stemmer meets words
it has not seen, as in a crawl. Each article's text is stemmed as an extraction worker does
(``stem_text``) and indexed as the store does (``index_new_article``); both are timed.

Then the queries: first one that loads what searching needs (pymorphy3's dictionaries, iuliia's
schemes), as the first search of a process does; then a three-word query with a Latin name, and
a few others, each run cold (first time, compiling the query) and warm (median of the next
runs).

    python -m benchmarks.search_bench [--articles 100000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from pipeline.db.connection import open_db
from pipeline.search.index import find, index_new_article
from pipeline.text.stemming import group_for, stem_text
from tests.mockserver import SITE
from tests.search.regional_names import NAMES

WORDS_PER_ARTICLE = 200
LANGUAGES = ("ru",) * 5 + ("uk",) * 2 + ("en",) * 3
QUERIES = (
    "Tokayev Kazakhstan border",
    "Kharkiv мобилизация граница",
    "NEAR(Tokayev visit, 10)",
    '"Верхний Ларс"',
)
WARM_RUNS = 9
# Run first, once: what a process pays the first time it searches (loading the dictionaries).
WARM_UP = "Ташкент Тараз Almaty"
SYLLABLES = [
    "ба",
    "ва",
    "га",
    "да",
    "жа",
    "за",
    "ка",
    "ла",
    "ма",
    "на",
    "па",
    "ра",
    "са",
    "та",
    "ха",
    "ча",
    "ша",
    "бо",
    "ко",
    "ло",
    "мо",
    "но",
    "ро",
    "со",
    "то",
    "ку",
    "ру",
]
RUSSIAN_ENDINGS = ("ов", "ова", "ову", "овым", "ове", "ев", "ева", "еву", "евым", "ский", "ского")
UKRAINIAN_ENDINGS = ("ов", "ова", "ову", "овим", "ові", "єв", "єва", "єву", "ський", "ського")
ENGLISH_ENDINGS = ("", "s", "ed", "ing", "ise", "ised", "ization", "our")


def vocabulary() -> dict[str, list[str]]:
    """Words per language: the test site's pages and the region's names."""
    words: dict[str, list[str]] = {"ru": [], "uk": [], "en": []}
    for page in (Path(SITE) / "news").glob("*.html"):
        language = page.name.split("-")[0]
        if language in words:
            text = re.sub(r"<[^>]+>", " ", page.read_text("utf-8", errors="replace"))
            words[language] += re.findall(r"[^\W\d_]{2,}", text)
    for name in NAMES:
        if name.language in words:
            words[name.language] += list(name.forms) * 3
            words["en"] += list(name.latin)
    return words


TO_LATIN = str.maketrans("бвгджзклмнпрстхчшаоу", "bvgdzzklmnprsthcsaou")


def long_tail(language: str, rng: random.Random) -> str:
    """A word the stemmer has probably not seen: a made-up surname or English word."""
    stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    if language == "ru":
        return stem.capitalize() + rng.choice(RUSSIAN_ENDINGS)
    if language == "uk":
        return stem.capitalize() + rng.choice(UKRAINIAN_ENDINGS)
    latin = stem.translate(TO_LATIN)
    return latin + rng.choice(ENGLISH_ENDINGS)


def build(db_path: Path, articles: int, rng: random.Random) -> dict[str, float]:
    """Fill the database; return the milliseconds per article spent stemming and indexing."""
    words = vocabulary()
    stemming = indexing = 0.0
    with open_db(db_path) as db:
        for first in range(1, articles + 1, 1000):
            with db.atomic():
                for article_id in range(first, min(first + 1000, articles + 1)):
                    language = rng.choice(LANGUAGES)
                    text = " ".join(
                        long_tail(language, rng)
                        if rng.random() < 0.2
                        else rng.choice(words[language])
                        for _ in range(WORDS_PER_ARTICLE)
                    )
                    title = " ".join(rng.choice(words[language]) for _ in range(8))
                    db.execute(
                        "INSERT INTO articles (id, url, title, text, language, status, "
                        "first_seen_at) VALUES (?, ?, ?, ?, ?, 'ok', '2026-11-01T00:00:00Z')",
                        (article_id, f"https://example.org/{article_id}", title, text, language),
                    )
                    started = time.perf_counter()
                    group = group_for(language)
                    stems = (group, stem_text(text, group))
                    indexed = time.perf_counter()
                    index_new_article(db, article_id, title, text, language, stems)
                    done = time.perf_counter()
                    stemming += indexed - started
                    indexing += done - indexed
    return {
        "stem_ms_per_article": round(1000 * stemming / articles, 3),
        "index_ms_per_article": round(1000 * indexing / articles, 3),
        "total_ms_per_article": round(1000 * (stemming + indexing) / articles, 3),
    }


def query_latency(db_path: Path) -> dict[str, dict[str, float]]:
    """Cold and warm milliseconds of each query, with how many articles it found."""
    results: dict[str, dict[str, float]] = {}
    with open_db(db_path) as db:
        started = time.perf_counter()
        find(db, WARM_UP, limit=1)  # loads pymorphy3's dictionaries and iuliia's schemes
        results[WARM_UP] = {"cold_ms": round(1000 * (time.perf_counter() - started), 1)}
        for query in QUERIES:
            timings = []
            found = 0
            for _ in range(1 + WARM_RUNS):
                started = time.perf_counter()
                found = len(find(db, query, limit=50))
                timings.append(1000 * (time.perf_counter() - started))
            results[query] = {
                "cold_ms": round(timings[0], 1),
                "warm_ms": round(statistics.median(timings[1:]), 1),
                "found": found,
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        db_path = Path(directory) / "search.db"
        figures: dict[str, object] = {"articles": args.articles}
        figures["indexing"] = build(db_path, args.articles, random.Random(17))
        figures["queries"] = query_latency(db_path)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    indexing = figures["indexing"]
    assert isinstance(indexing, dict)
    print(f"{args.articles} articles of {WORDS_PER_ARTICLE} words")
    print(
        f"indexing: {indexing['total_ms_per_article']} ms/article "
        f"(stemming in the worker {indexing['stem_ms_per_article']}, "
        f"writing the index {indexing['index_ms_per_article']})"
    )
    queries = figures["queries"]
    assert isinstance(queries, dict)
    for query, timing in queries.items():
        if query == WARM_UP:
            print(f"first query of the process ({query!r}): {timing['cold_ms']} ms")
            continue
        print(
            f"{query!r}: {timing['cold_ms']} ms cold, {timing['warm_ms']} ms warm, "
            f"{timing['found']} found"
        )


if __name__ == "__main__":
    main()
