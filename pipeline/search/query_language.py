"""Search queries: a small boolean language, compiled to SQLite FTS5 over stemmed text.

Syntax: words (all must occur), ``"exact phrases"``, ``OR``, ``AND``, ``NOT``, parentheses,
``prefix*`` and ``NEAR(a b, N)`` (the words or phrases within N words of one another; 10 if N is
left out). ``AND`` binds tighter than ``OR``; ``NOT`` excludes what follows it. For example
``mobilisation AND (Kazakhstan OR Georgia)``, ``"Верхний Ларс"``, ``border NOT football``,
``NEAR(Tokayev visit, 5)``.

A word is compared by the stems of all its forms and of its spellings in the other script
(``pipeline.text.stemming.query_stems``) in the article's own language, so "Казахстан" finds
"Казахстане", "mobilise" finds "mobilization" and "Tokayev" finds "Токаева". A phrase matches
the stems of its own words, in order, and a prefix the words as typed: neither is transliterated.
Nothing of the query reaches FTS5 unquoted: FTS5's own syntax cannot be injected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pipeline.exceptions import QueryError
from pipeline.text.stemming import GROUPS, query_stems, stem_words
from pipeline.text.tokens import search_tokens

MAX_QUERY_CHARS = 2000
TOKEN = re.compile(r'(NEAR\(([^()]*)\))|"([^"]*)"?|(\()|(\))|([^\s()"]+)')
NEAR_DISTANCE = re.compile(r",\s*(\d+)\s*$")
DEFAULT_NEAR = 10
# NEAR of words with several stems is the OR of NEAR over their combinations, at most these.
MAX_NEAR_COMBINATIONS = 64


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # lower-cased; more than one: a phrase
    prefix: bool = False
    text: str = ""  # as written in the query
    exact: bool = False  # written in quotes: matched by its own stems only

    def forms(self, group: str) -> tuple[str, ...]:
        """The stems of the term's words in articles of ``group``, in order."""
        if self.prefix:  # a prefix is matched as typed, not stemmed
            return (*stem_words(list(self.words[:-1]), group), self.words[-1])
        return tuple(stem_words(list(self.words), group))

    def alternatives(self, group: str) -> tuple[tuple[str, ...], ...]:
        """Each sequence of stems that the term matches: for a single word, each stem of
        ``query_stems``; for a phrase (quoted or not) or a prefix, only its ``forms``."""
        if len(self.words) == 1 and not self.prefix and not self.exact:
            return tuple((key,) for key in query_stems(self.words[0], group))
        return (self.forms(group),)


@dataclass(frozen=True)
class All:
    include: tuple[Node, ...]
    exclude: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Any:
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Near:
    terms: tuple[Term, ...]
    distance: int = DEFAULT_NEAR


Node = Term | All | Any | Near


def parse(query: str) -> Node:
    """The query as a tree; QueryError if it is empty, too long or unbalanced."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters")
    tokens: list[tuple[str, str]] = []
    for match in TOKEN.finditer(query):
        near, inside, phrase, opening, closing, bare = match.groups()
        if near is not None:
            tokens.append(("near", inside))
        elif phrase is not None:
            tokens.append(("phrase", phrase))
        elif opening:
            tokens.append(("(", opening))
        elif closing:
            tokens.append((")", closing))
        elif bare in ("AND", "OR", "NOT"):
            tokens.append((bare, bare))
        else:
            tokens.append(("word", bare))
    parser = _Parser(tokens, query)
    node = parser.parse_any()
    if parser.position < len(tokens):
        raise QueryError(f"unexpected {tokens[parser.position][1]!r} in query {query!r}")
    if node is None:
        raise QueryError(f"no words to search for in query {query!r}")
    return node


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], query: str) -> None:
        self.tokens = tokens
        self.query = query
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def parse_any(self) -> Node | None:
        options = [self.parse_all()]
        while self.peek() == "OR":
            self.position += 1
            options.append(self.parse_all())
        kept = tuple(option for option in options if option is not None)
        if not kept and len(options) == 1:
            return None  # nothing at all: said by the caller
        if len(kept) < len(options):
            raise QueryError(f"OR needs a term on both sides in query {self.query!r}")
        return kept[0] if len(kept) == 1 else Any(kept)

    def parse_all(self) -> Node | None:
        include: list[Node] = []
        exclude: list[Node] = []
        while self.peek() not in (None, ")", "OR"):
            negated = False
            while self.peek() in ("AND", "NOT"):
                negated = negated or self.peek() == "NOT"
                self.position += 1
            node = self.parse_atom()
            if node is not None:
                (exclude if negated else include).append(node)
        if exclude and not include:
            raise QueryError(f"NOT needs something to exclude from in query {self.query!r}")
        if not include:
            return None
        if len(include) == 1 and not exclude:
            return include[0]
        return All(tuple(include), tuple(exclude))

    def parse_atom(self) -> Node | None:
        kind = self.peek()
        if kind is None or kind in (")", "OR"):
            raise QueryError(f"a term is missing at the end of query {self.query!r}")
        value = self.tokens[self.position][1]
        self.position += 1
        if kind == "near":
            return self.parse_near(value)
        if kind == "(":
            node = self.parse_any()
            if self.peek() != ")":
                raise QueryError(f"unbalanced parenthesis in query {self.query!r}")
            self.position += 1
            return node
        prefix = kind == "word" and value.endswith("*")
        found = search_tokens(value)
        if not found:
            return None  # punctuation only
        prefix = prefix and len(found[-1]) >= 2
        return Term(tuple(found), prefix=prefix, text=value, exact=kind == "phrase")

    def parse_near(self, inside: str) -> Near:
        distance = DEFAULT_NEAR
        found = NEAR_DISTANCE.search(inside)
        if found:
            distance = int(found[1])
            inside = inside[: found.start()]
        near_terms: list[Term] = []
        for match in TOKEN.finditer(inside):
            _, _, phrase, _, _, bare = match.groups()
            value = phrase if phrase is not None else bare
            words = search_tokens(value or "")
            if words:
                near_terms.append(Term(tuple(words), text=value or "", exact=phrase is not None))
        if len(near_terms) < 2:
            raise QueryError(f"NEAR needs two words or phrases in query {self.query!r}")
        return Near(tuple(near_terms), distance)


def terms(node: Node) -> list[Term]:
    """The query's terms that count as matches (not the excluded ones), in order."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Near):
        return list(node.terms)
    if isinstance(node, All):
        return [term for child in node.include for term in terms(child)]
    return [term for child in node.options for term in terms(child)]


def to_fts(node: Node, group: str) -> str:
    """The FTS5 expression of the query for articles of one stemmer group."""
    if isinstance(node, Term):
        options = [f'"{" ".join(forms)}"' for forms in node.alternatives(group)]
        if node.prefix:
            return options[0] + " *"
        return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"
    if isinstance(node, Near):
        return _near_fts(node, group)
    if isinstance(node, Any):
        return "(" + " OR ".join(to_fts(option, group) for option in node.options) + ")"
    included = " AND ".join(to_fts(child, group) for child in node.include)
    if not node.exclude:
        return f"({included})"
    excluded = " OR ".join(to_fts(child, group) for child in node.exclude)
    return f"(({included}) NOT ({excluded}))"


def _near_fts(node: Near, group: str) -> str:
    """FTS5's NEAR takes phrases only: one NEAR per combination of the terms' stems."""
    combinations: list[list[str]] = [[]]
    for term in node.terms:
        phrases = [f'"{" ".join(forms)}"' for forms in term.alternatives(group)]
        combinations = [[*done, phrase] for done in combinations for phrase in phrases][
            :MAX_NEAR_COMBINATIONS
        ]
    nears = [f"NEAR({' '.join(phrases)}, {node.distance})" for phrases in combinations]
    return nears[0] if len(nears) == 1 else "(" + " OR ".join(nears) + ")"


@lru_cache(maxsize=256)
def compile_query(query: str, groups: tuple[str, ...] = GROUPS) -> str:
    """One FTS5 expression for ``articles_search`` that applies, to each article, the query
    stemmed for that article's group. Groups whose stemmed query is the same share a clause."""
    node = parse(query)
    by_expression: dict[str, list[str]] = {}
    for group in groups:
        by_expression.setdefault(to_fts(node, group), []).append(group)
    clauses = [
        f"(stemmer : ({' OR '.join(members)}) AND {{title text}} : {expression})"
        for expression, members in by_expression.items()
    ]
    return " OR ".join(clauses)


def matched_terms(node: Node, group: str, stems: Iterable[str]) -> list[str]:
    """The query terms, as written, that occur in an article whose stems are ``stems``."""
    sequence = list(stems)
    present = set(sequence)
    found: list[str] = []
    for term in terms(node):
        hit = False
        for forms in term.alternatives(group):
            if len(forms) == 1 and not term.prefix:
                hit = forms[0] in present
            else:
                hit = _contains(sequence, forms, term.prefix)
            if hit:
                break
        if hit and term.text not in found:
            found.append(term.text)
    return found


def _contains(sequence: list[str], forms: tuple[str, ...], prefix: bool) -> bool:
    size = len(forms)
    for start in range(len(sequence) - size + 1):
        window = sequence[start : start + size]
        if window[:-1] == list(forms[:-1]) and (
            window[-1].startswith(forms[-1]) if prefix else window[-1] == forms[-1]
        ):
            return True
    return False
