"""The documentation: a short README, the docs/ pages, every setting and stats key documented,
and links that lead somewhere."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SETTINGS_PAGE = DOCS / "settings.md"
SETTINGS_MODULE = ROOT / "pipeline" / "settings.py"
SOURCES = [ROOT / "pipeline", ROOT / "spiders"]

MAX_README_LINES = 200
MIN_DOCS_PAGES = 5
STATS_PREFIX = "newsmon/"
# A stats key as the code writes it: lower-case path segments (a User-Agent is not one).
STATS_KEY = re.compile(r"newsmon/[a-z0-9_/]*")
# A key as the settings page documents a family of them: newsmon/feeds/status/<status>.
DOCUMENTED_PATTERN = re.compile(r"(newsmon/[a-z0-9_/]*)<[^>]+>")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)


def doc_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def python_sources() -> Iterator[Path]:
    for directory in SOURCES:
        yield from sorted(directory.rglob("*.py"))


def setting_names() -> list[str]:
    """Every ``NEWSMON_*`` name assigned at the top level of pipeline/settings.py."""
    tree = ast.parse(SETTINGS_MODULE.read_text("utf-8"), str(SETTINGS_MODULE))
    names: list[str] = []
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and target.id.startswith("NEWSMON_"):
                names.append(target.id)
    return names


def stats_keys() -> tuple[set[str], set[str]]:
    """The stats keys in the code: literal keys, and the constant prefixes of f-string keys."""
    literal: set[str] = set()
    prefixes: set[str] = set()
    for path in python_sources():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and len(node.values) > 1:
                first = node.values[0]
                if isinstance(first, ast.Constant) and STATS_KEY.fullmatch(str(first.value)):
                    prefixes.add(str(first.value))
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and STATS_KEY.fullmatch(node.value)
            ):
                literal.add(node.value)
    # The constant part of an f-string is a Constant node too: it is a prefix, not a key.
    return literal - prefixes, prefixes


def without_code(markdown: str) -> str:
    return INLINE_CODE.sub("", FENCE.sub("", markdown))


def relative_links(path: Path) -> Iterator[str]:
    text = without_code(path.read_text("utf-8"))
    for pattern in (INLINE_LINK, REFERENCE_LINK):
        for match in pattern.finditer(text):
            target = match.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
                continue  # http:, https:, mailto: ..., or a heading on the same page
            yield target


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text("utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines, at most {MAX_README_LINES}: move details to docs/"
    )


def test_the_readme_starts_with_the_two_commands_that_work_on_a_fresh_machine() -> None:
    first_block = FENCE.search(README.read_text("utf-8"))
    assert first_block is not None, "README.md has no code block"
    block = first_block.group(0)
    assert "make run" in block and "make test" in block, block
    assert block.index("make run") < block.index("make test"), block


def test_docs_has_a_page_per_topic() -> None:
    pages = sorted(path.name for path in DOCS.glob("*.md"))
    assert len(pages) >= MIN_DOCS_PAGES, f"docs/ has {pages}"


def test_the_settings_are_found_in_pipeline_settings() -> None:
    # Guards the test below: a parse that finds nothing would check nothing.
    names = setting_names()
    assert "NEWSMON_DB_PATH" in names and "NEWSMON_FEEDS" in names and len(names) > 20


@pytest.mark.parametrize("name", setting_names())
def test_every_setting_is_documented(name: str) -> None:
    page = SETTINGS_PAGE.read_text("utf-8")
    assert re.search(rf"`{name}`", page), f"{name} is not documented in docs/settings.md"


def test_the_stats_keys_are_found_in_the_code() -> None:
    literal, prefixes = stats_keys()
    assert "newsmon/feeds/ok" in literal and "newsmon/feeds/status/" in prefixes


def documented_stats() -> tuple[str, list[str]]:
    """The settings page, and the prefixes of the key families it documents with ``<...>``."""
    page = SETTINGS_PAGE.read_text("utf-8")
    return page, [match.group(1) for match in DOCUMENTED_PATTERN.finditer(page)]


@pytest.mark.parametrize("key", sorted(stats_keys()[0]))
def test_every_stats_key_is_documented(key: str) -> None:
    page, families = documented_stats()
    assert key in page or any(key.startswith(family) for family in families), (
        f"stats key {key} is not documented in docs/settings.md"
    )


@pytest.mark.parametrize("prefix", sorted(stats_keys()[1]))
def test_every_family_of_stats_keys_is_documented(prefix: str) -> None:
    page, families = documented_stats()
    assert prefix in page or any(prefix.startswith(family) for family in families), (
        f"stats keys {prefix}... are not documented in docs/settings.md"
    )


@pytest.mark.parametrize("doc", doc_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file(doc: Path) -> None:
    broken = []
    for target in relative_links(doc):
        resolved = (doc.parent / target.split("#", 1)[0]).resolve()
        if not resolved.exists():
            broken.append(target)
    assert not broken, f"{doc.relative_to(ROOT)} links to missing files: {broken}"


def test_links_are_found() -> None:
    # Guards the test above: a pattern that matches nothing would check nothing.
    targets = set(relative_links(README))
    assert "docs/settings.md" in targets and "docs/images/home.png" in targets
