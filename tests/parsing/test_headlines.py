"""Headlines: site names cut off, agreement with the feed, and the text without its headline."""

from __future__ import annotations

from lxml.html import fromstring

from pipeline.parsing.headlines import (
    choose_title,
    page_headline,
    strip_headline,
    strip_site_name,
)
from pipeline.parsing.page_metadata import read_structured


def test_strip_site_name() -> None:
    site = ("Steppe Courier",)
    assert strip_site_name("Ferry reopens | Steppe Courier", site) == "Ferry reopens"
    assert strip_site_name("Steppe Courier - Ferry reopens", site) == "Ferry reopens"
    assert strip_site_name("Ferry reopens — stepcourier.kz", ()) == "Ferry reopens"
    assert strip_site_name("Russia - Ukraine talks resume | Steppe Courier", site) == (
        "Russia - Ukraine talks resume"
    )
    assert strip_site_name("Ferry reopens: what it means", site) == "Ferry reopens: what it means"


def headline(html: str) -> tuple[str | None, list[str]]:
    tree = fromstring(html)
    return page_headline(tree, read_structured(tree), ("Steppe Courier",))


def test_page_headline_prefers_the_pages_headline_markup() -> None:
    assert headline(
        "<html><head><title>Ferry reopens | Steppe Courier</title></head>"
        "<body><h1>Steppe Courier</h1><p>x</p></body></html>"
    ) == ("Ferry reopens", ["Ferry reopens"])  # the logo's <h1> is not the headline
    assert headline(
        '<html><head><meta property="og:title" content="Ferry reopens | Whatever Media">'
        "<title>Ferry reopens</title></head><body><h1>Ferry reopens</h1></body></html>"
    ) == ("Ferry reopens", ["Ferry reopens"])
    title, forms = headline(
        '<html><head><meta property="og:title" content="SEO: Ferry reopens &amp;#8216;early&amp;#8217;">'
        "</head><body><article><h1>Ferry line reopens early</h1></article></body></html>"
    )
    assert title == "Ferry line reopens early"  # the article's own <h1> before og:title
    assert forms == ["Ferry line reopens early", "SEO: Ferry reopens ‘early’"]  # unescaped
    assert headline("<html><body><p>no headline</p></body></html>") == (None, [])


def test_choose_title_agrees_with_the_feed() -> None:
    forms = ["Ferry line reopens early", "Ferry reopens"]
    assert choose_title("Ferry line reopens early", forms, "Ferry reopens") == "Ferry reopens"
    assert choose_title("Ferry line reopens early", forms, "Something else") == (
        "Ferry line reopens early"
    )
    assert choose_title(None, [], "Feed title") == "Feed title"
    assert choose_title("Page", ["Page"], None) == "Page"


def test_strip_headline() -> None:
    forms = ["Ferry reopens", "Ferry line reopens early"]
    assert strip_headline("Ferry line reopens early.\nAKTAU - The ferry...", forms) == (
        "AKTAU - The ferry..."
    )
    assert strip_headline("AKTAU - Ferry reopens\nmore", forms) == "AKTAU - Ferry reopens\nmore"
    assert strip_headline("Ferry reopens", []) == "Ferry reopens"
