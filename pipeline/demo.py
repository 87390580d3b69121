"""``make demo``: a small news site on 127.0.0.1 from the project's fixtures, crawled and served.

Runs from a checkout of newsmon (the site is ``tests/mockserver/site``); needs no internet.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline import api

CHECKOUT = Path(__file__).resolve().parent.parent
SITE = CHECKOUT / "tests" / "mockserver" / "site"
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


def start_site() -> tuple[subprocess.Popen[str], str]:
    if not SITE.is_dir():
        sys.exit(f"newsmon demo: {SITE} not found; run the demo from a newsmon checkout")
    command = [sys.executable, "-m", "tests.mockserver", "--root", str(SITE)]
    command += ["--set", f"canary={REFUSED_ADDRESS}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=CHECKOUT)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def crawl_demo(db_path: str | Path, watchlists_file: str | Path | None = None) -> api.CrawlResult:
    """Start the demo site, crawl it into ``db_path``, stop the site."""
    site, base = start_site()
    try:
        with tempfile.TemporaryDirectory(prefix="newsmon-demo-") as tmp:
            feeds = Path(tmp) / "feeds.txt"
            feeds.write_text("".join(f"{base}/feeds/{name}\n" for name in FEEDS))
            print(f"Demo news site at {base}; crawling it into {db_path}", file=sys.stderr)
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
    finally:
        site.kill()
        site.wait()


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
