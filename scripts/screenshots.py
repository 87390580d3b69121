"""``make screenshots``: the main datasette pages in headless Chromium, as PNGs, checked for errors.

Crawls the demo site (tests/mockserver/site) with the example watchlists into a temporary
database, serves it with ``newsmon serve``, then opens each page in Chromium (driven by
Playwright, with the system's /usr/bin/chromium) and saves a full-page screenshot. Exits
non-zero if a page answers with an error, a resource fails to load, or the page logs a console
error or throws.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import ConsoleMessage, Error, Response, sync_playwright

from pipeline import api
from pipeline.demo import EXAMPLE_WATCHLISTS, crawl_demo
from pipeline.exceptions import NewsmonError
from tests.mockserver import free_port

# Every page in a desktop window and at a phone's width.
VIEWPORTS = [(1280, ""), (390, "-phone")]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pages(db: Path) -> dict[str, str]:
    name = db.stem
    with sqlite3.connect(db) as conn:
        (article,) = conn.execute(
            "SELECT id FROM articles WHERE status = 'ok' AND language = 'ru' ORDER BY id LIMIT 1"
        ).fetchone()
    return {
        "home": "/",
        "database": f"/{name}",
        "articles": f"/{name}/articles",
        "search": f"/{name}/search?q={quote('мобилизация OR border')}",
        "article": f"/{name}/articles/{article}",
        "chart": "/-/chart?days=200",
        "chart-watchlists": "/-/chart?by=watchlist&days=200",
        "watchlists": f"/{name}/watchlist_activity",
        "watchlist": f"/{name}/watchlist?name=exodus",
        "feed-health": f"/{name}/feed_health",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="screenshots", type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    if not Path(args.chromium).exists():
        sys.exit(f"screenshots: no Chromium at {args.chromium} (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="newsmon-screenshots-") as tmp:
        db = Path(tmp) / "demo.db"
        crawl_demo(db, EXAMPLE_WATCHLISTS)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        try:
            server = api.start_server(db, "127.0.0.1", port, watchlists_file=EXAMPLE_WATCHLISTS)
        except NewsmonError as exc:
            sys.exit(f"screenshots: {exc}")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium, args=CHROMIUM_FLAGS
                )
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                current = {"name": ""}

                def on_console(message: ConsoleMessage) -> None:
                    if message.type == "error":
                        problems.append(f"{current['name']}: console error: {message.text}")

                def on_page_error(error: Error) -> None:
                    problems.append(f"{current['name']}: uncaught: {error}")

                def on_response(response: Response) -> None:
                    if response.status >= 400:
                        problems.append(f"{current['name']}: HTTP {response.status} {response.url}")

                page.on("console", on_console)
                page.on("pageerror", on_page_error)
                page.on("response", on_response)
                for width, suffix in VIEWPORTS:
                    page.set_viewport_size({"width": width, "height": 900})
                    for name, path in pages(db).items():
                        current["name"] = name + suffix
                        page.goto(base + path, wait_until="networkidle")
                        target = args.out / f"{name}{suffix}.png"
                        page.screenshot(path=str(target), full_page=True)
                        print(f"{target}  {path}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    for problem in problems:
        print(f"screenshots: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
