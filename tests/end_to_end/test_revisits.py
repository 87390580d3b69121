"""Edits and take-downs (issue 21's "Done when", at small scale): a site of 30 article pages is
crawled once; an immediate second run requests no page; then 10 pages are edited (3 with a new
headline), 3 answer 410, 2 answer 404 and 15 stay as they were; a run with
``NEWSMON_REVISIT_AFTER=0`` keeps every edit's earlier version, marks the removals with their
text kept, adds no version for the unchanged pages, which it re-checks conditionally, and
duplicates no article row. A page that comes back is noticed, and a rerun stores no edit twice."""

from __future__ import annotations

import json
import random
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST, run_newsmon
from tests.end_to_end.test_crawl import query
from tests.mockserver import MockServer

ARTICLES = 30
EDITED = range(10)  # of which the first 3 get a new headline
NEW_HEADLINE = range(3)
GONE = range(10, 13)  # 410
NOT_FOUND = range(13, 15)  # 404
UNCHANGED = range(15, 30)
LANGUAGES = ["en", "ru", "uk", "kk"]


def words(text: str) -> list[str]:
    return text.split()


WORDS = {
    "en": words(
        "border river mountain council budget harvest railway festival scholar winter "
        "minister village pipeline election teacher hospital bridge market reporter garden "
        "airport factory museum treaty court student farmer energy water forest"
    ),
    "ru": words(
        "граница река гора совет бюджет урожай железная дорога фестиваль учёный зима "
        "министр деревня трубопровод выборы учитель больница мост рынок репортёр сад "
        "аэропорт завод музей договор суд студент фермер энергия вода лес"
    ),
    "uk": words(
        "кордон річка гора рада бюджет урожай залізниця фестиваль науковець зима "
        "міністр село трубопровід вибори вчитель лікарня міст ринок репортер сад "
        "аеропорт завод музей договір суд студент фермер енергія вода ліс"
    ),
    "kk": words(
        "шекара өзен тау кеңес бюджет егін темір жол фестиваль ғалым қыс министр ауыл "
        "құбыр сайлау мұғалім аурухана көпір базар тілші бақ әуежай зауыт мұражай шарт сот "
        "студент фермер энергия су орман"
    ),
}


def article_text(number: int, edited: bool = False) -> tuple[str, list[str]]:
    """Headline and paragraphs of article ``number``: words drawn at random (seeded), so that no
    two articles are near-copies of each other."""
    language = LANGUAGES[number % len(LANGUAGES)]
    rng = random.Random(number)
    words = WORDS[language]
    paragraphs = [
        " ".join(rng.choice(words) for _ in range(14)).capitalize() + "." for _ in range(8)
    ]
    # No digits in headlines: the mock site's host, 127.0.0.1, would pass for a site name in them.
    tag = "".join(chr(ord("a") + int(digit)) for digit in str(number))
    title = f"{' '.join(rng.choice(words) for _ in range(5)).capitalize()} {tag}"
    if edited:
        paragraphs[2] = (
            f"Correction {number}: the figures were revised to {number * 7 + 3} percent."
        )
        paragraphs.append(f"Addendum {number} quotes zephyrquartz{number} officials.")
        if number in NEW_HEADLINE:
            title = f"Rewritten headline {tag} about {rng.choice(words)}"
    return title, paragraphs


def page(number: int, edited: bool = False) -> str:
    title, paragraphs = article_text(number, edited)
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    language = LANGUAGES[number % len(LANGUAGES)]
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{title} | Revisit Times</title></head><body><header>Revisit Times</header>"
        f"<article><h1>{title}</h1>{body}</article></body></html>"
    )


def write_site(root: Path) -> None:
    (root / "news").mkdir(parents=True)
    items = []
    for number in range(ARTICLES):
        (root / "news" / f"{number}.html").write_text(page(number), encoding="utf-8")
        title, _ = article_text(number)
        items.append(
            f"<item><title>{title}</title><link>{{{{base}}}}/news/{number}.html</link>"
            f"<guid>revisit-{number}</guid>"
            f"<pubDate>Sun, 25 Sep 2022 {number % 24:02d}:00:00 GMT</pubDate></item>"
        )
    (root / "feed.rss").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Revisit Times</title><link>{{base}}/</link>" + "".join(items) + "</channel></rss>",
        encoding="utf-8",
    )


def edit_site(root: Path) -> None:
    for number in EDITED:
        (root / "news" / f"{number}.html").write_text(page(number, edited=True), encoding="utf-8")
    for number in GONE:
        (root / "news" / f"{number}.html.headers").write_text(json.dumps({"status": 410}))
    for number in NOT_FOUND:
        (root / "news" / f"{number}.html").unlink()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[MockServer, Path, Path]]:
    root = tmp_path / "site"
    write_site(root)
    log = tmp_path / "requests.log"
    with MockServer(root, log=log) as server:
        yield server, root, log


def crawl(feeds: Path, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["crawl", "--feeds", str(feeds), "--db", str(db), "--allow-private", "127.0.0.1"]
    result = run_newsmon(*args, *FAST, *extra)
    assert result.returncode == 0, result.stderr
    return result


def logged(log: Path, start: int) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()[start:]]


def number_of(url: str) -> int:
    return int(url.rsplit("/", 1)[1].split(".")[0])


def test_edits_and_take_downs_are_found_and_kept(
    site: tuple[MockServer, Path, Path], tmp_path: Path
) -> None:
    server, root, log = site
    db, feeds = tmp_path / "news.db", tmp_path / "feeds.txt"
    feeds.write_text(server.url("feed.rss") + "\n")
    # A watchlist that follows the edits and removals of what it matched, through the hook.
    (tmp_path / "watchlists.toml").write_text(
        "[watchlists.farms]\nquery = 'farmer OR фермер'\nchanges = true\n"
        "[watchlists.rivers]\nquery = 'river OR река'\n",
        encoding="utf-8",
    )
    hook_output = tmp_path / "hook.jsonl"
    save = f"import sys; open({str(hook_output)!r}, 'a').write(sys.stdin.read() + '\\n')"
    hook = ["--on-matches", shlex.join([sys.executable, "-c", save])]

    crawl(feeds, db)
    first = {
        number_of(url): (article_id, title, text)
        for article_id, url, title, text in query(
            db, "select id, url, title, text from articles where status = 'ok'"
        )
    }
    assert sorted(first) == list(range(ARTICLES))

    # An immediate second run, with the default schedule, requests no page again.
    start = len(log.read_text().splitlines())
    crawl(feeds, db)
    assert [r["path"] for r in logged(log, start) if r["path"].startswith("/news/")] == []

    edit_site(root)
    start = len(log.read_text().splitlines())
    crawl(feeds, db, "-s", "NEWSMON_REVISIT_AFTER=0", *hook)
    requests = {
        number_of(r["path"]): r for r in logged(log, start) if r["path"].startswith("/news/")
    }
    assert sorted(requests) == list(range(ARTICLES))  # every page re-checked once
    for number in UNCHANGED:  # conditionally, with the validators of the first fetch
        assert requests[number].get("if_none_match", "").startswith('"'), requests[number]
        assert requests[number].get("if_modified_since"), requests[number]

    versions = {
        article_id: (version, title, text)
        for article_id, version, title, text in query(
            db, "select article_id, version, title, text from article_versions"
        )
    }
    rows = {
        number_of(url): row
        for url, *row in query(
            db,
            "select url, id, title, text, version, removed_at, removed_status, last_checked_at"
            " from articles",
        )
    }
    assert len(rows) == ARTICLES  # no duplicate article row
    assert query(db, "select count(*), count(distinct url) from articles") == [(30, 30)]
    for number in EDITED:  # the earlier version kept, the latest in articles
        article_id, title, text = first[number]
        assert versions[article_id] == (1, title, text)
        new_title, _ = article_text(number, edited=True)
        _, stored_title, stored_text, version, removed_at, _, _ = rows[number]
        assert version == 2 and removed_at is None
        assert f"zephyrquartz{number}" in stored_text
        if number in NEW_HEADLINE:
            assert stored_title == new_title != title
        else:
            assert stored_title == title
    for number in [*GONE, *NOT_FOUND]:  # marked removed, text kept
        article_id, title, text = first[number]
        _, stored_title, stored_text, version, removed_at, removed_status, _ = rows[number]
        assert removed_at and (stored_title, stored_text, version) == (title, text, 1)
        assert removed_status == ("fetch_failed:410" if number in GONE else "fetch_failed:404")
    for number in UNCHANGED:  # no version, only the time of the check
        article_id, title, text = first[number]
        _, stored_title, stored_text, version, removed_at, _, checked = rows[number]
        assert article_id not in versions and checked
        assert (stored_title, stored_text, version, removed_at) == (title, text, 1, None)
    assert len(versions) == len(EDITED)

    # The search index follows the new text.
    found = run_newsmon("search", "zephyrquartz3", "--db", str(db), "--json")
    assert [row["id"] for row in json.loads(found.stdout)] == [first[3][0]]
    run = query(
        db,
        "select revisits, revisits_not_modified, articles_edited, articles_removed, "
        "articles_new from crawl_runs order by id desc limit 1",
    )
    assert run == [(30, 15, 10, 5, 0)]
    changes = json.loads(run_newsmon("changes", "--since", "24h", "--db", str(db), "--json").stdout)
    assert sorted(c["change"] for c in changes) == ["edited"] * 10 + ["removed"] * 5

    # The watchlist with changes = true was told of its matched articles' edits and removals.
    alerts = [a for a in json.loads(hook_output.read_text().splitlines()[-1]) if "change" in a]
    matched = {
        article_id
        for (article_id,) in query(
            db,
            "select article_id from matches join watchlists w on w.id = watchlist_id "
            "where w.name = 'farms'",
        )
    }
    expected = query(db, "select kind, article_id from article_changes order by id")
    assert len(matched) > 20 and {a["watchlist"] for a in alerts} == {"farms"}
    assert [(a["change"], a["article_id"]) for a in alerts] == [
        (kind, article_id) for kind, article_id in expected if article_id in matched
    ]

    # A page comes back; a rerun stores no edit twice and marks no removal twice.
    (root / "news" / "13.html").write_text(page(13), encoding="utf-8")
    crawl(feeds, db, "-s", "NEWSMON_REVISIT_AFTER=0")
    assert query(db, "select count(*) from article_versions") == [(10,)]
    kinds = query(db, "select kind, count(*) from article_changes group by kind order by kind")
    assert kinds == [("edited", 10), ("removed", 5), ("returned", 1)]
    assert query(db, "select count(*) from articles where removed_at is not null") == [(4,)]
    assert query(db, "select count(*) from articles") == [(30,)]
