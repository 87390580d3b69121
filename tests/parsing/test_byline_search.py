"""The byline search gives trafilatura's ``extract_author`` result, faster."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from trafilatura.metadata import extract_author
from trafilatura.utils import load_html
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

from pipeline.parsing.byline_search import search_byline
from pipeline.parsing.decoding import decode_page

SITE = Path(__file__).parent.parent / "mockserver" / "site"
FIXTURE_PAGES = sorted(SITE.rglob("*.html"))

# One page per selector and pruning rule of trafilatura's byline search, in four languages.
SNIPPETS = {
    "rel author link": '<p>Текст</p><a rel="author" href="/a">Айгерим Сеитова</a>',
    "author element": "<author>Олена Коваль</author><p>Текст статті</p>",
    "author-name class": '<span class="article__author-name">Jane Doe</span>',
    "AuthorName class": '<div class="AuthorName">Иван Петров</div>',
    "data-testid": '<div data-testid="AuthorCard">Asel Nurlanovna</div>',
    "itemprop author name": '<span itemprop="author name">Тимур Ахметов</span>',
    "rel me child": "<p><rel>me</rel> Марат Бекова</p>",
    "byline class exact": '<p class="byline">By Anna Smith</p>',
    "byl class": '<span class="byl">Сергей Иванов</span>',
    "author in id": '<div id="post-author-box">Дмитро Шевченко</div>',
    "posted-by class": '<span class="entry posted-by">Posted by Ali Khan</span>',
    "journalist-name": '<h4 class="journalist-name">Нұрлан Сәрсенов</h4>',
    "last resort writer": '<li class="writer">Maria Garcia</li>',
    "last resort data-component": '<section data-component="Byline">Ольга Мельник</section>',
    "last resort Author id": '<li id="mainAuthor">Бауыржан Омаров</li>',
    "too long is skipped": '<p class="author">'
    + "слово " * 30
    + '</p><b class="writer">Ann Lee</b>',
    "byline holding a time": '<div class="byline">Автор: Ирина Волкова <time>12.03.2024</time> обновлено</div>',
    "time inside a word": '<span class="author">Jo<time>1</time>hn Brown</span>',
    "comments are pruned": '<div class="comments"><span class="author">Reader</span></div>'
    '<span class="byline">Petr Novak</span>',
    "sidebar is pruned": '<aside><div class="sidebar-widget"><a class="author">Other</a></div></aside>'
    '<p class="writer">Ерлан Касымов</p>',
    "comment id prefix": '<div id="comments-42"><p class="author">Гость</p></div>',
    "figure is pruned": '<figure><span class="author">Photo: AP</span></figure>',
    "print class": '<span class="print-author author">Printer</span><p class="byline">Ana Ruiz</p>',
    "nothing": "<p>Просто текст без автора.</p>",
    "comment node": '<div class="author"><!-- x -->Айдар Жумабаев</div>',
}


def page(body: str) -> str:
    return f"<html><head><title>t</title></head><body><article>{body}</article></body></html>"


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_same_byline_as_trafilatura_on_each_rule(name: str) -> None:
    tree = load_html(page(SNIPPETS[name]))
    assert search_byline(tree) == extract_author(load_html(page(SNIPPETS[name])))


def test_the_rules_find_what_they_should() -> None:
    found = {name: search_byline(load_html(page(body))) for name, body in SNIPPETS.items()}
    assert found["byline class exact"] == "Anna Smith"
    assert found["too long is skipped"] == "Ann Lee"
    assert found["comments are pruned"] == "Petr Novak"
    assert found["sidebar is pruned"] == "Ерлан Касымов"
    assert found["figure is pruned"] is None
    assert found["nothing"] is None
    assert "12.03" not in (found["byline holding a time"] or "")


@pytest.mark.parametrize("path", FIXTURE_PAGES, ids=lambda path: path.name)
def test_same_byline_as_trafilatura_on_fixture_pages(path: Path) -> None:
    html = decode_page(path.read_bytes(), "text/html")
    tree = load_html(html)
    if tree is None:
        pytest.skip("not HTML")
    assert search_byline(tree) == extract_author(load_html(html))


def test_the_page_is_left_as_it_was() -> None:
    from lxml.html import tostring

    tree = load_html(page(SNIPPETS["byline holding a time"] + SNIPPETS["comments are pruned"]))
    before = tostring(tree)
    search_byline(tree)
    assert tostring(tree) == before


def test_trafilatura_selectors_are_the_ones_written_in_byline_search() -> None:
    """byline_search restates trafilatura 2.3.1's selectors; an upgrade that changes them must
    be followed there (then update this digest)."""
    selectors = "\n".join(xpath.path for xpath in AUTHOR_XPATHS + AUTHOR_DISCARD_XPATHS)
    digest = hashlib.sha256(selectors.encode()).hexdigest()
    assert digest == EXPECTED_DIGEST


EXPECTED_DIGEST = "bd5f280624916a837f627a558a6f87d6ebde80d97a00908c8a856c7b7b9eae82"


def test_elements_without_the_tested_attributes_are_never_taken() -> None:
    """What lets CANDIDATES leave out every element without one of ATTRIBUTES."""
    from pipeline.parsing import byline_search

    for test in (
        byline_search._first_by_attributes,
        byline_search._second_by_attributes,
        byline_search._third_by_attributes,
        byline_search._discarded_by_attributes,
    ):
        assert not test(byline_search.NO_ATTRIBUTES)
