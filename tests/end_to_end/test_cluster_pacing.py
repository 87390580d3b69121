"""Per-host politeness holds across nodes: one host, several feeds, three nodes.

A server on 127.0.0.1 logs when each request to it starts and ends. Without host leases the
three nodes would each take feeds of the host and request it at once; with them, the host sees
what one polite process would send: at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` (2) requests at a
time and, with ``DOWNLOAD_DELAY`` 0.6 (Scrapy waits 0.3 to 0.9 s between two), at most 4
started in any second. Both are upper bounds: a slower machine only makes them easier to meet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_newsmon
from tests.end_to_end.test_cluster import Nodes, coordinator_command, new_db
from tests.redisserver import RedisServer

FEEDS = 4
PAGES_PER_FEED = 3
TEXT = " ".join(f"Word{n} of a long enough article about the border queue." for n in range(40))


class PacedSite(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), PacedHandler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.log: list[tuple[float, float, str]] = []
        self.lock = threading.Lock()


class PacedHandler(BaseHTTPRequestHandler):
    server: PacedSite

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        started = time.monotonic()
        time.sleep(0.2)  # long enough for requests to overlap, were they sent together
        if self.path.startswith("/feed/"):
            feed = self.path.rsplit("/", 1)[1]
            items = "".join(
                f"<item><title>Article {feed}-{n}</title><link>{self.server.base}/a/{feed}-{n}</link>"
                f"<guid>{feed}-{n}</guid></item>"
                for n in range(PAGES_PER_FEED)
            )
            body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>{items}</channel></rss>'
            content_type = "application/rss+xml"
        elif self.path.startswith("/a/"):
            body = f"<html><head><title>{self.path}</title></head><body><article><h1>{self.path}</h1><p>{TEXT}</p></article></body></html>"
            content_type = "text/html; charset=utf-8"
        else:
            body, content_type = "User-agent: *\nAllow: /\n", "text/plain"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with self.server.lock:
            self.server.log.append((started, time.monotonic(), self.path))


@pytest.fixture
def paced_site() -> Iterator[PacedSite]:
    server = PacedSite()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def most_at_once(log: list[tuple[float, float, str]]) -> int:
    events = sorted([(start, 1) for start, _end, _ in log] + [(end, -1) for _s, end, _ in log])
    busy = most = 0
    for _moment, change in events:  # an end before a start at the same instant
        busy += change
        most = max(most, busy)
    return most


def most_started_in_a_second(log: list[tuple[float, float, str]]) -> int:
    starts = sorted(start for start, _end, _ in log)
    return max(sum(1 for other in starts if start <= other < start + 1) for start in starts)


def test_one_host_is_served_politely_by_three_nodes(
    paced_site: PacedSite, redis_server: RedisServer, tmp_path: Path
) -> None:
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text("".join(f"{paced_site.base}/feed/{n}\n" for n in range(FEEDS)))
    nodes = Nodes(tmp_path, redis_server.url)
    polite = ["-s", "DOWNLOAD_DELAY=0.6", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"]
    try:
        for _ in range(3):
            nodes.start(*polite, "-s", "NEWSMON_NODE_TASKS_PER_HOST=2")
        db = new_db(tmp_path)
        result = run_newsmon(*coordinator_command(db, feeds_file, redis_server.url), timeout=240)
        assert result.returncode == 0, result.stderr[-3000:] + nodes.logs()
    finally:
        nodes.stop_all()
    log = list(paced_site.log)
    pages = [path for _s, _e, path in log if path.startswith("/a/")]
    assert most_at_once(log) <= 2
    assert most_started_in_a_second(log) <= 4
    assert sorted(pages) == sorted(  # each page once
        {f"/a/{f}-{n}" for f in range(FEEDS) for n in range(PAGES_PER_FEED)}
    )
