"""Dependencies: the pinned and the installed versions have the known advisories fixed."""

from __future__ import annotations

import pyexpat
import re
import tomllib
from importlib.metadata import version

import pytest
from packaging.version import Version

from tests.conftest import ROOT

# package: (minimum version, why)
MINIMUMS = {
    "scrapy": (
        "2.14.2",
        (
            "decompression bombs (GHSA-7j7m-v7m3-jqm7, GHSA-2qfp-q593-8484), redirects to file:/"
            "data:/ftp:/s3: and leaked Authorization/proxy headers on redirect (GHSA-23j4-mw76-5v7h, "
            "GHSA-cw9j-q3vf-hrrv, GHSA-4qqq-9vqf-3h3f, GHSA-jm3v-qxmh-hxwv), Referrer-Policy import "
            "(GHSA-cwxj-rr6w-m6w7)"
        ),
    ),
    "brotli": ("1.2.0", "single-chunk brotli bomb, with Scrapy >= 2.13.4 (GHSA-2qfp-q593-8484)"),
    "lxml": ("6.1.1", "XXE in iterparse (CVE-2026-41066), libxml2 fixes in the wheels"),
    "lxml_html_clean": ("0.4.5", "javascript: in xlink:href kept by Cleaner (GHSA-4jhm-jv67-739f)"),
    "feedparser": (
        "5.1.2",
        "XSS and entity memory DoS (CVE-2009-5065, CVE-2011-115x, CVE-2012-2921)",
    ),
    "datasette": (
        "0.65.2",
        "reflected XSS (CVE-2021-32670) and open redirect //host (issue #2429)",
    ),
    "sqlite-utils": ("4.2", "SQL injection through the FTS tokenize argument (#828)"),
}


def pinned() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    pins = {}
    for requirement in project["dependencies"]:
        name, _, pin = requirement.partition("==")
        pins[re.sub(r"[-_.]+", "-", name.strip().lower())] = pin.strip()
    return pins


@pytest.mark.parametrize("package", MINIMUMS)
def test_pinned_and_installed_versions_have_the_advisories_fixed(package: str) -> None:
    minimum, why = MINIMUMS[package]
    pin = pinned()[re.sub(r"[-_.]+", "-", package.lower())]
    assert Version(pin) >= Version(minimum), f"{package} pinned at {pin}: {why}"
    installed = version(package)
    assert installed == pin, f"{package} {installed} installed, {pin} pinned: run make install"


def test_expat_protects_against_entity_expansion() -> None:
    # Billion-laughs protection arrived in Expat 2.4.0 (CVE-2013-0340); feedparser's parser.
    found = Version(pyexpat.EXPAT_VERSION.removeprefix("expat_"))
    assert found >= Version("2.4.0"), pyexpat.EXPAT_VERSION
