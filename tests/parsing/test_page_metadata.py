"""The structured metadata of a page: meta tags, JSON-LD (in a @graph, with organisations)."""

from __future__ import annotations

from lxml.html import fromstring

from pipeline.parsing.page_metadata import Person, read_structured

PAGE = """<html><head>
<meta property="og:title" content="First">
<meta property="og:title" content="Second">
<meta name="Author" content="  Anna   Müller ">
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
  {"@type": "WebPage", "name": "Page"},
  {"@type": ["NewsArticle"], "headline": "Ferry reopens", "datePublished": "2024-03-05T10:30:00+05:00",
   "author": [{"@type": "Person", "name": "Anna Müller"}, {"@type": "Organization", "name": "dpa"},
              "https://example.com/anna"],
   "publisher": {"@type": "Organization", "name": "Steppe Courier"},
   "articleBody": "The ferry line ..."}]}</script>
<script type="application/ld+json">{not json</script>
</head><body><span itemprop="dateModified" content="2024-03-06">6 March</span></body></html>"""


def test_read_structured() -> None:
    structured = read_structured(fromstring(PAGE))
    assert structured.meta["og:title"] == "First"
    assert structured.meta["author"] == "Anna Müller"
    assert structured.meta["datemodified"] == "2024-03-06"
    article = structured.json_ld
    assert article.headline == "Ferry reopens"
    assert article.published == "2024-03-05T10:30:00+05:00"
    assert article.authors == [Person("Anna Müller", False), Person("dpa", True)]
    assert article.publisher == "Steppe Courier"
    assert article.body == "The ferry line ..."
    assert structured.publishers == ["Steppe Courier"]


def test_a_page_without_structured_data() -> None:
    structured = read_structured(fromstring("<html><body><p>text</p></body></html>"))
    assert structured.meta == {}
    assert structured.json_ld.headline is None
