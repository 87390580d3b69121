"""Search queries: a small boolean language, compiled to SQLite FTS5 over stemmed text.

Syntax: words (all must occur), ``"exact phrases"``, ``OR``, ``AND``, ``NOT``, parentheses and
``prefix*``. ``AND`` binds tighter than ``OR``; ``NOT`` excludes what follows it. For example
``mobilisation AND (Kazakhstan OR Georgia)``, ``"Верхний Ларс"``, ``border NOT football``.

Every word is compared by its stem (``pipeline.text.stemming``) in the article's own language, so
"мобилизация" finds "мобилизации" and "border" finds "borders"; a phrase matches the stems in
order. Nothing of the query reaches FTS5 unquoted: FTS5's own syntax cannot be injected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pipeline.exceptions import QueryError
from pipeline.text.stemming import GROUPS, stem_words
from pipeline.text.tokens import search_tokens

MAX_QUERY_CHARS = 2000
TOKEN = re.compile(r'"([^"]*)"?|(\()|(\))|([^\s()"]+)')


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # lower-cased; more than one: a phrase
    prefix: bool = False
    text: str = ""  # as written in the query

    def forms(self, group: str) -> tuple[str, ...]:
        if self.prefix:  # a prefix is matched as typed, not stemmed
            return (*stem_words(list(self.words[:-1]), group), self.words[-1])
        return tuple(stem_words(list(self.words), group))


@dataclass(frozen=True)
class All:
    include: tuple[Node, ...]
    exclude: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Any:
    options: tuple[Node, ...]


Node = Term | All | Any


def parse(query: str) -> Node:
    """The query as a tree; QueryError if it is empty, too long or unbalanced."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters")
    tokens: list[tuple[str, str]] = []
    for match in TOKEN.finditer(query):
        phrase, opening, closing, bare = match.groups()
        if phrase is not None:
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
        return Term(tuple(found), prefix=prefix and len(found[-1]) >= 2, text=value)


def terms(node: Node) -> list[Term]:
    """The query's terms that count as matches (not the excluded ones), in order."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, All):
        return [term for child in node.include for term in terms(child)]
    return [term for child in node.options for term in terms(child)]


def to_fts(node: Node, group: str) -> str:
    """The FTS5 expression of the query for articles of one stemmer group."""
    if isinstance(node, Term):
        forms = node.forms(group)
        return f'"{" ".join(forms)}"' + (" *" if node.prefix else "")
    if isinstance(node, Any):
        return "(" + " OR ".join(to_fts(option, group) for option in node.options) + ")"
    included = " AND ".join(to_fts(child, group) for child in node.include)
    if not node.exclude:
        return f"({included})"
    excluded = " OR ".join(to_fts(child, group) for child in node.exclude)
    return f"(({included}) NOT ({excluded}))"


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
        forms = term.forms(group)
        if len(forms) == 1 and not term.prefix:
            hit = forms[0] in present
        else:
            hit = _contains(sequence, forms, term.prefix)
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
