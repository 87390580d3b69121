"""Crawl every feed of feedparser's own test suite with ``newsmon crawl``, on loopback.

    pip download feedparser==6.0.14 --no-binary :all: --no-deps -d /tmp/fp
    tar xzf /tmp/fp/feedparser-6.0.14.tar.gz -C /tmp/fp
    python -m scripts.feedparser_suite --tests /tmp/fp/feedparser-6.0.14/tests

Serves the suite's directory on 127.0.0.1 the way its runtests.py does (the ``Header:`` lines
of each file as response headers, Content-Encoding by file name for the compression cases,
redirects to the server itself), crawls every file as a feed with article fetching off (the
entries link to public hosts, which must not be contacted), then reports: the exit code, the
wall time, the largest resident size, and each feed's recorded outcome, counted by status.
Exits non-zero if the crawl fails or a feed has no recorded outcome.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HEADER = re.compile(rb"^Header:\s+([^:]+):(.+)$", re.MULTILINE)
SUITE_HOST = b"localhost:8097"
SKIP_SUFFIXES = (".py", ".pyc")


class SuiteHandler(BaseHTTPRequestHandler):
    server: SuiteServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        target = (self.server.root / path.lstrip("/").removeprefix("tests/")).resolve()
        if not target.is_relative_to(self.server.root) or not target.is_file():
            self.reply(404, {"Content-Type": "text/plain"}, b"not found")
            return
        body = target.read_bytes()
        headers: dict[str, str] = {}
        if "compression" in target.parts:
            if target.suffix == ".gz":
                headers["Content-Encoding"] = "gzip"
            elif target.suffix == ".z":
                headers["Content-Encoding"] = "deflate"
            headers["Content-Type"] = "application/xml"
        else:
            own = f"127.0.0.1:{self.server.server_address[1]}".encode()
            for name, value in HEADER.findall(body):
                value = value.strip().replace(SUITE_HOST, own)
                headers[name.decode("latin-1").strip()] = value.decode("latin-1")
        status = int(headers.pop("Status", "200"))
        headers.setdefault("Content-Type", "text/xml")
        if status == 304:
            body = b""
        self.reply(status, headers, body)

    def reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SuiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), SuiteHandler)
        self.root = root.resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=Path, required=True, help="feedparser's tests/ folder")
    parser.add_argument("--db", type=Path, help="crawl database (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the outcome per feed here")
    args = parser.parse_args()
    files = sorted(
        p for p in args.tests.rglob("*") if p.is_file() and p.suffix not in SKIP_SUFFIXES
    )
    server = SuiteServer(args.tests)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory(prefix="newsmon-fpsuite-") as tmp:
        db = args.db or Path(tmp) / "suite.db"
        feeds = Path(tmp) / "feeds.txt"
        urls = [f"{base}/tests/{p.relative_to(args.tests).as_posix()}" for p in files]
        feeds.write_text("".join(url + "\n" for url in urls))
        command = [sys.executable, "-m", "pipeline", "crawl", "--feeds", str(feeds)]
        command += ["--db", str(db), "--allow-private", "127.0.0.1", "--log-file", str(db) + ".log"]
        for setting in (
            "NEWSMON_FETCH_ARTICLES=False",  # entries link to public hosts: never contacted
            "DOWNLOAD_DELAY=0",
            "AUTOTHROTTLE_ENABLED=False",
            "CONCURRENT_REQUESTS_PER_DOMAIN=16",  # one loopback server; said here, not hidden
            "ROBOTSTXT_OBEY=False",
        ):
            command += ["-s", setting]
        print(f"Crawling {len(urls)} feeds of {args.tests} from {base}", file=sys.stderr)
        print(f"  {' '.join(command)}", file=sys.stderr)
        started = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        server.shutdown()
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        with sqlite3.connect(db) as conn:
            outcomes = dict(conn.execute("SELECT url, last_status FROM feeds"))
    by_status = collections.Counter(outcomes.get(url) or "missing" for url in urls)
    missing = [url for url in urls if not outcomes.get(url)]
    print(f"exit code {result.returncode} in {seconds:.1f} s, largest process {peak_mb:.0f} MB")
    print(f"{len(urls) - len(missing)} of {len(urls)} feeds have a recorded outcome:")
    for status, count in by_status.most_common():
        print(f"  {count:5d}  {status}")
    if result.returncode:
        print(result.stderr[-3000:], file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({url: outcomes.get(url) for url in urls}, indent=1))
    if result.returncode or missing:
        sys.exit(1)


if __name__ == "__main__":
    main()
