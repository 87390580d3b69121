"""``make demo``: a small news site on 127.0.0.1 from the project's fixtures, crawled and served.

Runs from a checkout of newsmon: the site is the test suite's mock server (``tests.mockserver``,
serving ``tests/mockserver/site``), started the same way as in the tests. Needs no internet.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import api

if TYPE_CHECKING:
    from tests.mockserver import MockServer

CHECKOUT = Path(__file__).resolve().parent.parent
EXAMPLE_WATCHLISTS = CHECKOUT / "watchlists.example.toml"
FEEDS = [
    "world.rss",
    "russian.xml",
    "ukrainian.atom",
    "latin1.xml",
    "utf16.xml",
    "science.rdf",
    "wire.rss",
    "feed.json",
    "broken.xml",
    "not-a-feed.html",
]
# A link in the demo's feed points here; the crawler must refuse it (it is not allowed).
REFUSED_ADDRESS = "http://127.0.0.2:9"


def demo_site() -> MockServer:
    """The demo news site, to start with ``with``: the test suite's mock server."""
    try:
        from tests.mockserver import SITE, MockServer
    except ImportError:
        sys.exit("newsmon demo: tests/mockserver not found; run the demo from a newsmon checkout")
    return MockServer(SITE, values={"canary": REFUSED_ADDRESS})


def write_feed_list(site: MockServer, directory: Path) -> Path:
    """The demo's feeds on the running ``site``, as a plain feed list in ``directory``."""
    feeds = directory / "feeds.txt"
    feeds.write_text("".join(site.url(f"feeds/{name}") + "\n" for name in FEEDS))
    return feeds


def crawl_demo(db_path: str | Path, watchlists_file: str | Path | None = None) -> api.CrawlResult:
    """Start the demo site, crawl it into ``db_path``, stop the site."""
    with demo_site() as site, tempfile.TemporaryDirectory(prefix="newsmon-demo-") as tmp:
        feeds = write_feed_list(site, Path(tmp))
        print(f"Demo news site at {site.base}; crawling it into {db_path}", file=sys.stderr)
        return api.crawl(
            db_path,
            feeds,
            allow_private=["127.0.0.1/32"],
            overrides={
                "DOWNLOAD_DELAY": "0",
                "AUTOTHROTTLE_ENABLED": "False",
                "LOG_LEVEL": "WARNING",
            },
            watchlists_file=watchlists_file,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="data/demo.db")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--watchlists", default=str(EXAMPLE_WATCHLISTS))
    parser.add_argument("--no-serve", action="store_true", help="crawl only")
    args = parser.parse_args()
    result = crawl_demo(args.db, args.watchlists)
    print(f"Crawl {result.finish_reason}: run {result.run_id}", file=sys.stderr)
    if args.no_serve:
        return
    command = api.serve_command(args.db, "127.0.0.1", args.port, watchlists_file=args.watchlists)
    print(f"Serving at http://127.0.0.1:{args.port}/", file=sys.stderr)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
