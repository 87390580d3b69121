"""lxml.html's element classes, chosen in C for the parser that trafilatura parses pages with.

lxml.html's parser asks a Python method (``HtmlElementClassLookup.lookup``) for the class of every
element that Python code touches, and extraction touches most elements of a page several times:
the byline search, the structured-data reader and trafilatura's own passes. lxml's namespace
lookup gives the same classes from a table in C: ``HtmlElement``, and the form classes lxml.html
registers by tag (``FormElement``, ``InputElement``...). Measured in docs/performance.md.
"""

from __future__ import annotations

from lxml import etree
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlElementClassLookup,
    HtmlEntity,
    HtmlProcessingInstruction,
)


def html_class_lookup() -> etree.ElementNamespaceClassLookup:
    """A lookup in C that gives every node the class lxml.html's own lookup gives it."""
    lookup = etree.ElementNamespaceClassLookup(
        etree.ElementDefaultClassLookup(
            element=HtmlElement,
            comment=HtmlComment,
            pi=HtmlProcessingInstruction,
            entity=HtmlEntity,
        )
    )
    # HTML elements have no namespace; the HTML parser gives their tags in lower case, as
    # lxml.html's lookup expects them.
    lookup.get_namespace(None).update(HtmlElementClassLookup._default_element_classes)
    return lookup


def use_html_class_lookup(parser: etree.HTMLParser) -> None:
    """Give ``parser`` (an ``lxml.html.HTMLParser``) the lookup in C."""
    parser.set_element_class_lookup(html_class_lookup())
