"""Story grouping measured on the evaluation set: pairwise precision, recall and F1 per language
pair, how much the grouping depends on the order of arrival, and the model's cost.

The set (``tests/text/story_events.json``) is a few events, each told by several outlets in
Russian, Ukrainian, Kazakh and English, and unrelated articles on the same subjects (another
earthquake, another central bank, another airline incident). Each article is grouped as the
crawl groups it (``pipeline.text.story_match.StoryGrouper``), in many random orders of arrival.

    python -m benchmarks.story_eval [--words 40] [--orders 50] [--events FILE] [--json]

Other sets (``--events``): ``story_events_heldout.json``, written after the first rules were
fixed; ``story_events_angles.json``, where each outlet tells the event from its own angle; and
``story_events_blind.json``, written the same way without sight of the method, as the check
(docs/stories.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline import settings
from pipeline.text.embeddings import embed_texts, embedding_input
from pipeline.text.story_keys import story_keys
from pipeline.text.story_match import StoryGrouper, StoryRules

EVALUATION_SET = Path(__file__).resolve().parent.parent / "tests" / "text" / "story_events.json"
START = datetime(2026, 11, 2, tzinfo=UTC)


def load(path: Path = EVALUATION_SET) -> list[dict[str, Any]]:
    """The articles of the set, each with its URL and publication time."""
    articles: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))
    for number, article in enumerate(articles):
        article["url"] = f"https://{article['outlet']}/news/{number}"
        article["published"] = START + timedelta(hours=article["hours"])
    return articles


def group(
    articles: Sequence[dict[str, Any]],
    vectors: Any,
    order: Sequence[int],
    rules: StoryRules,
    window: timedelta = timedelta(days=3),
) -> dict[str, str]:
    """Each article's story (by URL), grouped in the given order of arrival."""
    grouper = StoryGrouper(rules, window)
    for index in order:
        article = articles[index]
        keys = frozenset(story_keys(article["title"], article["lead"]))
        grouper.add(article["url"], vectors[index], keys, article["published"], article["lang"])
    return grouper.stories


def pair_counts(
    articles: Sequence[dict[str, Any]], stories: dict[str, str]
) -> dict[str, list[int]]:
    """True positives, false positives and false negatives of same-story pairs, per language
    pair ("en-ru", ...) and for all pairs ("all")."""
    counts: dict[str, list[int]] = {}
    for a, b in itertools.combinations(articles, 2):
        same = a["event"] == b["event"]
        grouped = stories[a["url"]] == stories[b["url"]]
        for key in ("-".join(sorted((a["lang"], b["lang"]))), "all"):
            row = counts.setdefault(key, [0, 0, 0])
            row[0] += same and grouped
            row[1] += grouped and not same
            row[2] += same and not grouped
    return counts


def scores(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 (1.0 where nothing was to be found or claimed)."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def disagreement(
    articles: Sequence[dict[str, Any]], one: dict[str, str], other: dict[str, str]
) -> float:
    """The share of article pairs that one grouping puts together and the other apart."""
    pairs = list(itertools.combinations([a["url"] for a in articles], 2))
    differ = sum((one[a] == one[b]) != (other[a] == other[b]) for a, b in pairs)
    return differ / len(pairs)


def evaluate(
    words: int = settings.NEWSMON_STORY_EMBEDDING_WORDS,
    orders: int = 50,
    rules: StoryRules | None = None,
    seed: int = 1,
    path: Path = EVALUATION_SET,
) -> dict[str, Any]:
    """Precision, recall and F1 per language pair (summed over the orders), the mean share of
    pairs on which two orders disagree, and the embedding cost."""
    rules = rules or StoryRules()
    articles = load(path)
    inputs = [embedding_input(a["title"], a["lead"], words) for a in articles]
    embed_texts(inputs[:1])  # the model is loaded
    started = time.process_time()
    vectors = [embed_texts([text])[0] for text in inputs]
    cpu_ms = (time.process_time() - started) * 1000 / len(inputs)
    rng = random.Random(seed)
    totals: dict[str, list[int]] = {}
    groupings = []
    for _ in range(orders):
        order = rng.sample(range(len(articles)), len(articles))
        stories = group(articles, vectors, order, rules)
        groupings.append(stories)
        for key, row in pair_counts(articles, stories).items():
            total = totals.setdefault(key, [0, 0, 0])
            for i in range(3):
                total[i] += row[i]
    pairs = {
        key: dict(
            zip(("precision", "recall", "f1"), (round(x, 3) for x in scores(*row)), strict=True)
        )
        for key, row in sorted(totals.items())
        if row[0] + row[2]  # language pairs with same-event pairs to find
    }
    return {
        "articles": len(articles),
        "events": len({a["event"] for a in articles if not a["event"].startswith("x-")}),
        "orders": orders,
        "words": words,
        "pairs": pairs,
        "order_disagreement": round(
            statistics.mean(disagreement(articles, groupings[0], g) for g in groupings[1:]), 4
        )
        if orders > 1
        else 0.0,
        "embedding_cpu_ms_per_article": round(cpu_ms, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--words",
        type=int,
        default=settings.NEWSMON_STORY_EMBEDDING_WORDS,
        help="words of the lead embedded (default: the setting's, %(default)s)",
    )
    parser.add_argument("--orders", type=int, default=50, help="random orders of arrival")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--events", type=Path, default=EVALUATION_SET, help="the set (default: %(default)s)"
    )
    args = parser.parse_args()
    result = evaluate(args.words, args.orders, path=args.events)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['articles']} articles, {result['events']} events, {result['orders']} orders, "
        f"headline + {result['words']} words"
    )
    print(f"{'pair':8} precision recall   F1")
    for key, row in result["pairs"].items():
        print(f"{key:8} {row['precision']:9.3f} {row['recall']:6.3f} {row['f1']:6.3f}")
    print(f"pairs grouped differently by two orders: {result['order_disagreement']:.2%}")
    print(f"embedding: {result['embedding_cpu_ms_per_article']} ms CPU per article")
    print(f"peak resident memory of this process: {result['max_rss_mb']} MB")


if __name__ == "__main__":
    main()
