"""trafilatura's search of a page's markup for a byline, in one pass over the page.

``trafilatura.metadata.extract_author`` copies the page, prunes the copy with two XPath
expressions, then tries three more in turn; each evaluates a dozen attribute tests on every
element, and ``re:test`` calls back into Python for each: about 4 ms a page, as much as the rest of
the metadata together. Every regular expression in those selectors is an alternation of literals
(``[Aa]uthor`` is "Author" or "author", ``author-?name`` is "authorname" or "author-name",
``^comments`` a prefix), so the same tests are made here in Python, once per element and once per
distinct set of attribute values, and only a byline that holds pruned elements is copied. The
result is trafilatura's: the same selectors in the same order, the same pruning, the same length
limit and name normalisation. ``tests/parsing/test_byline_search.py`` checks that both give the
same byline on every fixture page, and that trafilatura's selectors are still the ones written
here (an upgrade that changes them fails that test).
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import lru_cache
from typing import TYPE_CHECKING

from lxml import etree
from trafilatura.json_metadata import normalize_authors
from trafilatura.utils import trim
from trafilatura.xml import delete_element

if TYPE_CHECKING:
    from lxml.html import HtmlElement

BYLINE_MAX_CHARS = 120  # extract_author's limit: longer text is not a byline

# The attributes the selectors test, in this order: what _attributes returns.
ATTRIBUTES = ("class", "id", "rel", "itemprop", "data-testid", "data-component")
Attributes = tuple[str, str, str, str, str, str]


NO_ATTRIBUTES: Attributes = ("", "", "", "", "", "")


def _attributes(element: HtmlElement) -> Attributes:
    if not element.keys():
        return NO_ATTRIBUTES
    get = element.get
    return (
        get("class", ""),
        get("id", ""),
        get("rel", ""),
        get("itemprop", ""),
        get("data-testid", ""),
        get("data-component", ""),
    )


def _contains(value: str, *fragments: str) -> bool:
    return any(fragment in value for fragment in fragments)


@lru_cache(maxsize=4096)
def _discarded_by_attributes(attributes: Attributes) -> bool:
    """The attribute tests of AUTHOR_DISCARD_XPATHS' first expression (on a, div, section, span)."""
    cls, id_, _rel, _itemprop, _testid, component = attributes
    return (
        id_ == "comments"
        or cls in ("comments", "title", "date")
        or id_.startswith("comments")
        or _contains(id_, "commentlist", "comment-list", "ProductReviews")
        or cls.startswith(("Comments", "comments"))
        or _contains(
            cls,
            "commentlist",
            "comments-list",
            "sidebar",
            "is-hidden",
            "quote",
            "embedly-instagram",
            "article-share",
            "article-support",
            "print",
            "category",
            "meta-date",
            "meta-reviewer",
        )
        or "Figure" in component
    )


@lru_cache(maxsize=4096)
def _first_by_attributes(attributes: Attributes) -> bool:
    cls, id_, rel, itemprop, testid, _component = attributes
    return (
        rel == "author"
        or id_ == "author"
        or cls == "author"
        or itemprop == "author name"
        or testid in ("AuthorCard", "AuthorURL")
        or _contains(cls, "authorname", "author-name", "AuthorName", "authorName")
    )


@lru_cache(maxsize=4096)
def _second_by_attributes(attributes: Attributes) -> bool:
    cls, id_, _rel, itemprop, _testid, _component = attributes
    return (
        cls in ("byline", "username", "byl", "BBL")
        or "author" in itemprop
        or _contains(id_, "author", "zuozhe", "bianji", "xiaobian")
        or _contains(
            cls,
            "author",
            "channel-name",
            "zuozhe",
            "bianji",
            "xiaobian",
            "submitted-by",
            "posted-by",
            "journalist-name",
        )
    )


@lru_cache(maxsize=4096)
def _third_by_attributes(attributes: Attributes) -> bool:
    cls, id_, _rel, itemprop, _testid, component = attributes
    return (
        "Byline" in component
        or "author" in itemprop
        or _contains(id_, "Author", "author")
        or _contains(cls, "Author", "author", "screenname", "writer", "Byline", "byline")
    )


def _has_rel_me(element: HtmlElement) -> bool:
    """XPath's ``rel='me'``: a child element <rel> whose text is "me"."""
    return any(child.tag == "rel" and child.text_content() == "me" for child in element)


FIRST_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
SECOND_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
DISCARD_TAGS = frozenset({"a", "div", "section", "span"})


def _discarded(element: HtmlElement, attributes: Attributes) -> bool:
    """Whether trafilatura's AUTHOR_DISCARD_XPATHS take the element out (the page's root aside)."""
    tag = element.tag
    if tag in ("time", "figure"):
        return True
    return (
        tag in DISCARD_TAGS
        and _discarded_by_attributes(attributes)
        and element.getparent() is not None
    )


def _first(element: HtmlElement, attributes: Attributes) -> bool:
    tag = element.tag
    if tag == "author":
        return True
    return tag in FIRST_TAGS and (_first_by_attributes(attributes) or _has_rel_me(element))


def _second(element: HtmlElement, attributes: Attributes) -> bool:
    return element.tag in SECOND_TAGS and _second_by_attributes(attributes)


def _third(element: HtmlElement, attributes: Attributes) -> bool:
    return _third_by_attributes(attributes)


# trafilatura.xpaths.AUTHOR_XPATHS, in the same order.
SELECTORS: tuple[Callable[[HtmlElement, Attributes], bool], ...] = (_first, _second, _third)


# The elements that a selector or a pruning rule can take, in document order: every test above
# needs one of ATTRIBUTES to be non-empty, except the tags <author>, <time> and <figure> and the
# child <rel> of _has_rel_me. Found in C, so the page's other elements never reach Python.
CANDIDATES = etree.XPath(
    "descendant-or-self::*["
    + " or ".join(f"@{name}" for name in ATTRIBUTES)
    + " or self::author or self::time or self::figure or rel]"
)


def search_byline(tree: HtmlElement) -> str | None:
    """The byline trafilatura's ``extract_author`` finds in the page's markup, or None."""
    kept: list[tuple[HtmlElement, Attributes]] = []  # what pruning leaves, in document order
    holds_discarded: set[HtmlElement] = set()  # kept elements with a pruned descendant
    pruned: HtmlElement | None = None  # the subtree being skipped
    for element in CANDIDATES(tree):
        if pruned is not None:
            if pruned in element.iterancestors():
                continue
            pruned = None
        attributes = _attributes(element)
        if _discarded(element, attributes):
            pruned = element
            holds_discarded.update(element.iterancestors())
            continue
        kept.append((element, attributes))
    for selector in SELECTORS:
        for element, attributes in kept:
            if not selector(element, attributes):
                continue
            if element in holds_discarded:
                element = _pruned_copy(element)
            content = trim(" ".join(element.itertext()))
            if content and 2 < len(content) < BYLINE_MAX_CHARS:
                return normalize_authors(None, content)
    return None


def _pruned_copy(element: HtmlElement) -> HtmlElement:
    """A copy of the element with what pruning takes out of it taken out, tails kept."""
    copy = deepcopy(element)
    for descendant in [d for d in copy.iterdescendants() if isinstance(d.tag, str)]:
        if _discarded(descendant, _attributes(descendant)):
            delete_element(descendant)
    return copy
