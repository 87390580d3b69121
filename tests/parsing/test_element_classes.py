"""Pages parsed by trafilatura's parser get lxml.html's element classes, looked up in C."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from lxml import etree
from trafilatura.utils import load_html

import pipeline.parsing.articles  # noqa: F401  (gives trafilatura's parser the lookup in C)
from pipeline.parsing.decoding import decode_page
from pipeline.parsing.element_classes import use_html_class_lookup

SITE = Path(__file__).parent.parent / "mockserver" / "site"

FORM_PAGE = """<!doctype html><html><head><title>Форма</title></head><body>
<form action="/s"><label for="q">Пошук</label><input id="q" name="q">
<select name="lang"><option>uk</option></select><textarea name="t">текст</textarea></form>
<div><p>Абзац <b>жирний</b></p><?php echo 1; ?></div></body></html>"""


def _classes(tree: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    return [(str(node.tag), type(node).__name__) for node in tree.iter()]


def _parsed_by_lxml_html(html: str) -> lxml.html.HtmlElement:
    """The same parser options as trafilatura's, with lxml.html's Python lookup."""
    parser = lxml.html.HTMLParser(
        collect_ids=False,
        default_doctype=False,
        encoding="utf-8",
        remove_comments=True,
        remove_pis=True,
    )
    return lxml.html.fromstring(html, parser=parser)


def test_trafilatura_parser_looks_classes_up_in_c(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    python_lookup = lxml.html.HtmlElementClassLookup.lookup

    def counted(self: object, node_type: str, *args: object) -> object:
        calls.append(node_type)
        return python_lookup(self, node_type, *args)

    monkeypatch.setattr(lxml.html.HtmlElementClassLookup, "lookup", counted)
    _classes(_parsed_by_lxml_html(FORM_PAGE))
    assert calls  # the Python lookup, as lxml.html's parser has it
    calls.clear()
    tree = load_html(FORM_PAGE)
    assert tree is not None
    kinds = dict(_classes(tree))
    assert not calls
    assert kinds["form"] == "FormElement"
    assert kinds["input"] == "InputElement"
    assert kinds["select"] == "SelectElement"
    assert kinds["textarea"] == "TextareaElement"
    assert kinds["label"] == "LabelElement"
    assert kinds["div"] == "HtmlElement"


def test_every_node_gets_the_class_lxml_html_gives_it() -> None:
    pages = [FORM_PAGE] + [
        decode_page(path.read_bytes(), "text/html") for path in sorted(SITE.rglob("*.html"))
    ]
    for html in pages:
        ours = load_html(html)
        assert ours is not None
        assert _classes(ours) == _classes(_parsed_by_lxml_html(html))


def test_comments_kept_by_another_parser_are_html_comments() -> None:
    parser = etree.HTMLParser()
    use_html_class_lookup(parser)
    tree = etree.fromstring("<html><body><!-- note --><p>x</p></body></html>", parser)
    assert [type(node).__name__ for node in tree.iter()] == [
        "HtmlElement",
        "HtmlElement",
        "HtmlComment",
        "HtmlElement",
    ]
