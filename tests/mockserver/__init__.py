"""A small news site on loopback for tests and ``make demo``, started as a child process.

``python -m tests.mockserver --root DIR [--host 127.0.0.1] [--port 0] [--set NAME=VALUE ...]``
serves the files under DIR and prints its base URL on the first line of stdout. In every
response ``{{base}}`` is replaced by that URL and ``{{NAME}}`` by each ``--set`` value. A file
``X.headers`` beside ``X`` holds a JSON object of response headers (and optionally ``status``);
a file ``X@QUERY`` is served for ``X?QUERY`` (a channel's ``s/NAME@before=101``).
Besides files there are fault routes: ``/status/CODE`` (``?retry_after=S``),
``/redirect?to=URL``, ``/slow?seconds=N``, ``/flaky`` (500 once, then a page), and the hostile
ones in ``FAULTS``. Every request is appended to the ``--log`` file, if given, as one JSON line
(with its ``If-None-Match`` and ``If-Modified-Since`` headers, if sent). Files are read on every
request: a test edits, removes or re-statuses (``.headers``) pages of a root it wrote itself
between crawls, as a site whose articles are edited and taken down.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import mimetypes
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import brotli
import zstandard

# The news site that the tests and ``make demo`` serve: feeds in several formats and encodings,
# broken ones, articles in English, Russian and Ukrainian, and the chaos feed of hostile cases.
SITE = Path(__file__).resolve().parent / "site"

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


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at ``host`` now: a server may bind it, a client is refused."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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
        self.server.record(self.path, self.headers.get("User-Agent", ""), self.conditions())
        path = parts.path
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            extra = {"Retry-After": query["retry_after"][0]} if "retry_after" in query else {}
            self.respond(code, b"status page", "text/plain", extra)
        elif path.startswith("/fault/"):
            fault = FAULTS.get(path.removeprefix("/fault/").split("/")[0])
            if fault is None:
                self.respond(404, b"no such fault", "text/plain")
            else:
                fault(self, path, {k: v[0] for k, v in query.items()})
        elif path == "/redirect":
            self.respond(302, b"", "text/plain", {"Location": query["to"][0]})
        elif path == "/slow":
            time.sleep(float(query.get("seconds", ["5"])[0]))
            self.respond(200, b"<html><body><p>late</p></body></html>", "text/html")
        elif path == "/flaky":
            first = self.server.first_time(path)
            self.respond(500 if first else 200, b"<html><body>flaky</body></html>", "text/html")
        else:
            self.serve_file(path, parts.query)

    def conditions(self) -> dict[str, str]:
        """The request's conditional headers, for the log."""
        names = {"If-None-Match": "if_none_match", "If-Modified-Since": "if_modified_since"}
        return {key: self.headers[name] for name, key in names.items() if self.headers.get(name)}

    def serve_file(self, path: str, query: str = "") -> None:
        root = self.server.root
        target = (root / path.lstrip("/")).resolve()
        if query and "/" not in query and target.with_name(f"{target.name}@{query}").is_file():
            target = target.with_name(f"{target.name}@{query}")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(root) or not target.is_file() or target.suffix == ".headers":
            self.respond(404, b"not found", "text/plain")
            return
        body = self.server.substitute(target.read_bytes())
        headers: dict[str, str] = {}
        status = 200
        sidecar = target.with_name(target.name.split("@")[0] + ".headers")
        if sidecar.exists():
            headers = json.loads(sidecar.read_text("utf-8"))
            status = int(headers.pop("status", 200))
        if headers.pop("validators", True):
            etag = '"' + hashlib.sha1(body).hexdigest() + '"'
            headers.update({"ETag": etag, "Last-Modified": "Sun, 25 Sep 2022 12:00:00 GMT"})
            if self.headers.get("If-None-Match") == etag and status == 200:
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


ARTICLE = (
    b"<html><head><title>A page at the end of a chain</title></head><body><article><p>"
    + b"Patience is rewarded: this page was reached after several redirects. " * 8
    + b"</p></article></body></html>"
)
BOMB_BYTES = 64 * 1024 * 1024  # zeros: twice DOWNLOAD_MAXSIZE, compressed to 65 kB or less


_BOMB_LOCK = threading.Lock()


def bomb(encoding: str) -> bytes:
    """The compressed bomb, made once: a request that comes while ``warm_bombs`` is making it
    waits for that, instead of compressing 64 MiB beside it (under load, several handlers doing
    so at once took longer than a test's download timeout)."""
    with _BOMB_LOCK:
        return _compressed_zeros(encoding)


@functools.cache
def _compressed_zeros(encoding: str) -> bytes:
    zeros = bytes(BOMB_BYTES)
    if encoding == "gzip":
        return gzip.compress(zeros, compresslevel=6, mtime=0)
    if encoding == "deflate":
        return zlib.compress(zeros, 6)
    if encoding == "br":
        return bytes(brotli.compress(zeros, quality=4))
    if encoding == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(zeros)
    raise ValueError(encoding)


def warm_bombs() -> None:
    for encoding in ("gzip", "deflate", "br", "zstd"):
        bomb(encoding)


def _headers_only(handler: SiteHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.flush()


def stall(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """Headers, then silence."""
    _headers_only(handler, 200, {"Content-Type": "text/html", "Content-Length": "5000"})
    time.sleep(float(query.get("seconds", "30")))
    handler.close_connection = True


def trickle(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """A byte every 0.2 seconds."""
    seconds = float(query.get("seconds", "30"))
    _headers_only(
        handler, 200, {"Content-Type": "text/html", "Content-Length": str(int(seconds * 5))}
    )
    for _ in range(int(seconds * 5)):
        handler.wfile.write(b"<")
        handler.wfile.flush()
        time.sleep(0.2)


def short_body(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """Promises 100 kB, sends 100 bytes, then closes (``/fault/lie``) or resets (``/fault/reset``)."""
    _headers_only(handler, 200, {"Content-Type": "text/html", "Content-Length": "100000"})
    handler.wfile.write(b"<html><body><p>" + b"x" * 85)
    handler.wfile.flush()
    if "reset" in path:  # RST instead of FIN
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True


def endless(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """A chunked HTML body that never ends (until the client hangs up)."""
    _headers_only(handler, 200, {"Content-Type": "text/html", "Transfer-Encoding": "chunked"})
    chunk = b"<p>" + b"more " * 13000 + b"</p>\n"
    deadline = time.monotonic() + float(query.get("seconds", "120"))
    try:
        handler.wfile.write(b"c\r\n<html><body>\r\n")
        while time.monotonic() < deadline:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except OSError:
        pass
    handler.close_connection = True


def big(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """A page of ``mb`` megabytes, declared in Content-Length (or not: ``?chunked=1``)."""
    size = int(query.get("mb", "60")) * 1024 * 1024
    chunked = query.get("chunked") == "1"
    headers = {"Content-Type": "text/html"}
    headers.update({"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)})
    _headers_only(handler, 200, headers)
    block = b"<p>" + b"filler " * 149_000 + b"</p>\n"
    try:
        sent = 0
        while sent < size:
            piece = block[: size - sent]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass
    handler.close_connection = True


def compressed_bomb(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """64 MiB of zeros compressed (``/fault/bomb/gzip|deflate|br|zstd``); with the
    Content-Encoding header unless ``?header=0``."""
    encoding = path.rsplit("/", 1)[1]
    body = bomb(encoding)
    headers = {"Content-Encoding": encoding} if query.get("header", "1") == "1" else {}
    handler.respond(200, body, "text/html", headers)


def loop(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    handler.respond(302, b"", "text/plain", {"Location": "/fault/loop"})


def chain(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """``?n=N`` redirects, then a page (one per ``id``)."""
    left = int(query.get("n", "3"))
    name = query.get("id", "0")
    if left > 0:
        location = f"/fault/chain?n={left - 1}&id={name}"
        handler.respond(302, b"", "text/plain", {"Location": location})
    else:
        body = ARTICLE.replace(b"</p>", b" Page " + name.encode() + b".</p>")
        handler.respond(200, body, "text/html; charset=utf-8")


def slow_to_parse(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """``n`` thousand small paragraphs: seconds of trafilatura's time for each thousand."""
    count = int(query.get("n", "20")) * 1000
    paragraphs = (
        f'<div class="c{i % 50}"><p>Paragraph {i} with some words and a <a href="/x{i}">link</a>.'
        "</p></div>"
        for i in range(count)
    )
    body = "<html><body>" + "".join(paragraphs) + "</body></html>"
    handler.respond(200, body.encode(), "text/html; charset=utf-8")


def binary(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """Not HTML behind an article link: ``/fault/binary/png|json|zip``."""
    kind = path.rsplit("/", 1)[1]
    bodies = {
        "png": (b"\x89PNG\r\n\x1a\n" + bytes(2000), "image/png"),
        "json": (b'{"article": "no", "items": [1, 2, 3]}', "application/json"),
        "zip": (b"PK\x03\x04" + bytes(2000), "application/zip"),
    }
    body, content_type = bodies[kind]
    handler.respond(200, body, content_type)


def nested(handler: SiteHandler, path: str, query: dict[str, str]) -> None:
    """A page of ``depth`` nested elements around a paragraph: a parser's worst case."""
    depth = int(query.get("depth", "100000"))
    text = b"<p>" + b"Deep inside the page there is still some text to find. " * 8 + b"</p>"
    body = b"<html><body>" + b"<div>" * depth + text + b"</div>" * depth + b"</body></html>"
    handler.respond(200, body, "text/html; charset=utf-8")


FAULTS: dict[str, Callable[[SiteHandler, str, dict[str, str]], None]] = {
    "stall": stall,
    "trickle": trickle,
    "lie": short_body,
    "reset": short_body,
    "endless": endless,
    "big": big,
    "bomb": compressed_bomb,
    "loop": loop,
    "chain": chain,
    "binary": binary,
    "nested": nested,
    "slowparse": slow_to_parse,
}


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

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hang up on faults
            super().handle_error(request, client_address)

    def first_time(self, path: str) -> bool:
        with self._lock:
            first = path not in self._seen
            self._seen.add(path)
            return first

    def record(self, path: str, user_agent: str, conditions: dict[str, str] | None = None) -> None:
        if self.log is None:
            return
        with self._lock, self.log.open("a", encoding="utf-8") as out:
            record = {"path": path, "user_agent": user_agent, "time": time.time()}
            record.update(conditions or {})
            out.write(json.dumps(record) + "\n")


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
        cwd = Path(__file__).resolve().parents[2]  # the checkout
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
    # Compressing the bombs takes a second or two: done at once, not while a client waits.
    threading.Thread(target=warm_bombs, daemon=True).start()
    print(server.base, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
