"""A small news site on loopback for tests and ``make demo``, started as a child process.

``python -m tests.mockserver --root DIR [--host 127.0.0.1] [--port 0] [--set NAME=VALUE ...]``
serves the files under DIR and prints its base URL on the first line of stdout. In every
response ``{{base}}`` is replaced by that URL and ``{{NAME}}`` by each ``--set`` value. A file
``X.headers`` beside ``X`` holds a JSON object of response headers (and optionally ``status``).
Besides files there are fault routes: ``/status/CODE``, ``/redirect?to=PATH``,
``/slow?seconds=N``, ``/flaky`` (500 once, then a page). Every request is appended to the
``--log`` file, if given, as one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import mimetypes
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

CONTENT_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".xml": "application/xml",
    ".json": "application/feed+json",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".opml": "text/x-opml",
    ".pdf": "application/pdf",
}


def fill_placeholders(body: bytes, values: dict[str, str]) -> bytes:
    """Replace ``{{name}}`` by ``values[name]``, inside gzip and UTF-16 files too."""
    if body[:2] == b"\x1f\x8b":
        return gzip.compress(fill_placeholders(gzip.decompress(body), values), mtime=0)
    encoding = "utf-16" if body[:2] in (b"\xff\xfe", b"\xfe\xff") else "latin-1"
    text = body.decode(encoding)
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text.encode(encoding)


class SiteHandler(BaseHTTPRequestHandler):
    server: SiteServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.server.record(self.path, self.headers.get("User-Agent", ""))
        path = parts.path
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self.respond(code, b"status page", "text/plain")
        elif path == "/redirect":
            self.respond(302, b"", "text/plain", {"Location": query["to"][0]})
        elif path == "/slow":
            time.sleep(float(query.get("seconds", ["5"])[0]))
            self.respond(200, b"<html><body><p>late</p></body></html>", "text/html")
        elif path == "/flaky":
            first = self.server.first_time(path)
            self.respond(500 if first else 200, b"<html><body>flaky</body></html>", "text/html")
        else:
            self.serve_file(path)

    def serve_file(self, path: str) -> None:
        root = self.server.root
        target = (root / path.lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(root) or not target.is_file() or target.suffix == ".headers":
            self.respond(404, b"not found", "text/plain")
            return
        body = self.server.substitute(target.read_bytes())
        headers: dict[str, str] = {}
        status = 200
        sidecar = target.with_name(target.name + ".headers")
        if sidecar.exists():
            headers = json.loads(sidecar.read_text("utf-8"))
            status = int(headers.pop("status", 200))
        if headers.pop("validators", True):
            etag = '"' + hashlib.sha1(body).hexdigest() + '"'
            headers.update({"ETag": etag, "Last-Modified": "Sun, 25 Sep 2022 12:00:00 GMT"})
            if self.headers.get("If-None-Match") == etag:
                self.respond(304, b"", None, headers)
                return
        content_type = headers.pop("Content-Type", None)
        if content_type is None:
            content_type = CONTENT_TYPES.get(target.suffix) or (
                mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            )
        self.respond(status, body, content_type or None, headers)

    def respond(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], root: Path, values: dict[str, str], log: Path | None
    ) -> None:
        super().__init__(address, SiteHandler)
        self.root = root.resolve()
        host, port = self.server_address[:2]
        self.base = f"http://{host!s}:{port}"
        self.values = {"base": self.base, **values}
        self.log = log
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def substitute(self, body: bytes) -> bytes:
        return fill_placeholders(body, self.values)

    def first_time(self, path: str) -> bool:
        with self._lock:
            first = path not in self._seen
            self._seen.add(path)
            return first

    def record(self, path: str, user_agent: str) -> None:
        if self.log is None:
            return
        with self._lock, self.log.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"path": path, "user_agent": user_agent}) + "\n")


class MockServer:
    """Runs ``tests.mockserver`` in a child process; ``url(path)`` builds URLs on it."""

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        values: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.command = [sys.executable, "-m", "tests.mockserver", "--root", str(root)]
        self.command += ["--host", host]
        for name, value in (values or {}).items():
            self.command += ["--set", f"{name}={value}"]
        if log is not None:
            self.command += ["--log", str(log)]
        self.base = ""
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        cwd = Path(__file__).resolve().parent.parent
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True, cwd=cwd)
        assert self.process.stdout is not None
        self.base = self.process.stdout.readline().strip()
        if not self.base.startswith("http://"):
            self.process.kill()
            raise RuntimeError(f"mock server did not start: {self.base!r}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()

    def url(self, path: str) -> str:
        return self.base + "/" + path.lstrip("/")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--log", type=Path)
    args = parser.parse_args(argv)
    if not args.host.startswith("127."):
        parser.error("the mock server binds loopback addresses only")
    values = dict(item.split("=", 1) for item in args.set)
    server = SiteServer((args.host, args.port), args.root, values, args.log)
    print(server.base, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
