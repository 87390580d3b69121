"""Which story an article joins, from its embedding and its names and numbers.

Used by ``DedupPipeline`` during a crawl and by ``newsmon regroup``, so both group alike. The
evidence for a pair of articles is one score:

    cosine of the two embeddings (``pipeline.text.embeddings``)
    + ``number_weight`` per shared number key and, unless both are known to be in one language,
      ``name_weight`` per shared name key (``pipeline.text.story_keys``; at most ``MAX_SHARED``
      of each count; names common among the candidates, ``common_names``, do not). Within one
      language the model reads the same names in the same spelling and already counts them;
      the keys are there to meet Тоқаев, Токаев and Tokayev across languages and scripts
    - ``same_outlet_penalty`` when both come from one site (an outlet's follow-ups on a topic
      are alike in wording, not always one event)
    - ``day_penalty`` per day between their publication times
    - ``number_conflict_penalty`` when both headlines give figures and share none
    + ``cross_language_bonus`` when the two are in different languages (the model scores a pair
      across languages lower than the same pair within one; docs/stories.md).

An article joins a story only if its best link to a member reaches ``threshold`` *and* its
mean score over all the story's members among the candidates reaches ``mean_threshold``: a
single near match is not enough to pull an article into a story whose other members it does not
resemble, so unrelated events are not chained through a series of near matches (single-link
would). Of the stories that pass, the one with the highest mean wins. Thresholds and their
measured precision and recall: docs/stories.md.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MAX_SHARED = 3
COMMON_NAME_MINIMUM = 5


@dataclass(frozen=True)
class StoryRules:
    """The weights and thresholds of the decision (settings ``NEWSMON_STORY_VECTOR_*``)."""

    threshold: float = 0.885
    mean_threshold: float = 0.87
    name_weight: float = 0.02
    number_weight: float = 0.04
    same_outlet_penalty: float = 0.01
    day_penalty: float = 0.01
    number_conflict_penalty: float = 0.05
    common_name_share: float = 0.1
    cross_language_bonus: float = 0.04


@dataclass
class Candidate:
    """An earlier article: its URL, its story (any key), its keys, outlet, time and language."""

    url: str
    story: Hashable
    keys: frozenset[str]
    outlet: str | None
    published: datetime | None
    language: str | None = None


@lru_cache(maxsize=4096)
def outlet_of(url: str) -> str | None:
    """The site an article comes from: its host name without ``www.``."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def within(a: datetime | None, b: datetime | None, window: timedelta) -> bool:
    """Whether two publication times are at most ``window`` apart (an unknown one always is)."""
    return a is None or b is None or abs(a - b) <= window


def pair_scores(
    vector: npt.NDArray[np.float32],
    keys: frozenset[str],
    outlet: str | None,
    published: datetime | None,
    candidates: Sequence[Candidate],
    matrix: npt.NDArray[np.float32],
    rules: StoryRules,
    language: str | None = None,
) -> list[float]:
    """The score of the article against each candidate (``matrix``: their vectors, in order)."""
    cosines = (matrix @ vector).tolist() if len(candidates) else []
    common: set[str] | None = None  # counted once a pair in two languages needs it
    figures = headline_figures(keys)  # once, not once per candidate
    scores = []
    for cosine, other in zip(cosines, candidates, strict=True):
        shared = keys & other.keys
        numbers = sum(1 for key in shared if key.startswith("#"))
        score = cosine + rules.number_weight * min(numbers, MAX_SHARED)
        one_language = bool(language and language == other.language)
        if not one_language:
            if common is None:
                common = common_names(keys, candidates, rules)
            names = sum(1 for key in shared if key.startswith("n:") and key not in common)
            score += rules.name_weight * min(names, MAX_SHARED)
        if figures and conflicting_figures(figures, other.keys):
            score -= rules.number_conflict_penalty
        if outlet is not None and outlet == other.outlet:
            score -= rules.same_outlet_penalty
        if published is not None and other.published is not None:
            days = abs((published - other.published).total_seconds()) / 86400
            score -= rules.day_penalty * days
        if language and other.language and not one_language:
            score += rules.cross_language_bonus
        scores.append(score)
    return scores


def common_names(
    keys: frozenset[str], candidates: Sequence[Candidate], rules: StoryRules
) -> set[str]:
    """The article's names that more than ``common_name_share`` of the candidates (and at least
    ``COMMON_NAME_MINIMUM``) also have: in the news of the window they say little (President,
    Trump, Kazakhstan in a Kazakh outlet's feed)."""
    if not rules.common_name_share:
        return set()
    bound = max(COMMON_NAME_MINIMUM, rules.common_name_share * len(candidates))
    names = {key for key in keys if key.startswith("n:")}
    counts = dict.fromkeys(names, 0)
    for other in candidates:
        for key in names & other.keys:
            counts[key] += 1
    return {key for key, count in counts.items() if count > bound}


def headline_figures(keys: Iterable[str]) -> set[str]:
    """The keys of the figures a headline gives (``h#``)."""
    return {key for key in keys if key.startswith("h#")}


def conflicting_figures(keys: Iterable[str], other: Iterable[str]) -> bool:
    """Whether both headlines give figures, and none of them the same."""
    mine, theirs = headline_figures(keys), headline_figures(other)
    return bool(mine and theirs and not mine & theirs)


def choose_story(
    scores: Sequence[float], candidates: Sequence[Candidate], rules: StoryRules
) -> tuple[Candidate, float] | None:
    """The candidate (the best-linked member of the chosen story) whose story the article joins,
    with the story's mean score; None to start a new story."""
    members: dict[Hashable, list[tuple[float, Candidate]]] = {}
    for score, candidate in zip(scores, candidates, strict=True):
        members.setdefault(candidate.story, []).append((score, candidate))
    chosen: tuple[Candidate, float] | None = None
    for linked in members.values():
        best_score, best = max(linked, key=lambda pair: pair[0])
        if best_score < rules.threshold:
            continue
        mean = sum(score for score, _ in linked) / len(linked)
        if mean >= rules.mean_threshold and (chosen is None or mean > chosen[1]):
            chosen = (best, mean)
    return chosen


def joined_candidate(
    url: str,
    vector: npt.NDArray[np.float32],
    keys: frozenset[str],
    published: datetime | None,
    candidates: Sequence[Candidate],
    matrix: npt.NDArray[np.float32],
    rules: StoryRules,
    language: str | None = None,
) -> Candidate | None:
    """The candidate whose story the article at ``url`` (in ``language``) joins
    (``pair_scores``, then ``choose_story``); None to start a new story."""
    scores = pair_scores(
        vector, keys, outlet_of(url), published, candidates, matrix, rules, language
    )
    chosen = choose_story(scores, candidates, rules)
    return chosen[0] if chosen else None


class StoryGrouper:
    """Groups articles in memory, in the order they are added, as the crawl would: each against
    the earlier ones within ``window`` (for ``newsmon regroup``, which adds them by publication
    time, and for evaluations). A story is the URL of its first article."""

    def __init__(self, rules: StoryRules, window: timedelta, limit: int = 1000) -> None:
        self.rules = rules
        self.window = window
        self.limit = limit
        self.candidates: deque[Candidate] = deque()
        self.vectors: deque[npt.NDArray[np.float32]] = deque()
        self.stories: dict[str, str] = {}  # article URL -> story

    def add(
        self,
        url: str,
        vector: npt.NDArray[np.float32],
        keys: frozenset[str],
        published: datetime | None,
        language: str | None = None,
    ) -> str:
        """The story of the article (its own URL if it starts one)."""
        import numpy as np

        if published is not None:
            while (
                self.candidates
                and self.candidates[0].published is not None
                and published - self.candidates[0].published > self.window
            ):
                self.candidates.popleft()
                self.vectors.popleft()
        pool = [
            (candidate, vector_)
            for candidate, vector_ in zip(self.candidates, self.vectors, strict=True)
            if within(published, candidate.published, self.window)
        ][-self.limit :]
        story = url
        if pool:
            candidates = [candidate for candidate, _ in pool]
            matrix = np.vstack([vector_ for _, vector_ in pool])
            chosen = joined_candidate(
                url, vector, keys, published, candidates, matrix, self.rules, language
            )
            if chosen is not None:
                story = str(chosen.story)
        self.stories[url] = story
        self.candidates.append(Candidate(url, story, keys, outlet_of(url), published, language))
        self.vectors.append(vector)
        return story
