from __future__ import annotations

import pytest

from pipeline.net.urls import normalize_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a/b.html#top", "http://example.com/a/b.html"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        (
            "https://example.com/n.html?utm_source=rss&utm_medium=feed&id=42&fbclid=x",
            "https://example.com/n.html?id=42",
        ),
        (
            "https://example.com/n.html?at_medium=RSS&at_campaign=KARANGA",
            "https://example.com/n.html",
        ),
        ("https://example.com/n.html?b=2&a=1", "https://example.com/n.html?b=2&a=1"),
        (" https://example.com/новости ", "https://example.com/новости"),
        ("file:///etc/passwd", "file:///etc/passwd"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected
