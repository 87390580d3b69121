"""A real ``redis-server`` for the tests: on a free loopback port, in a temporary directory.

``make install`` installs Debian's ``redis-server`` when it is missing; without it the tests that
need it fail and say so (they are never skipped).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mockserver import free_port

START_SECONDS = 60.0  # far beyond what redis-server needs to start


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        pytest.fail(
            "redis-server is not installed: `make install` installs it "
            "(Debian's package redis-server)",
            pytrace=False,
        )
    return found


class RedisServer:
    """``redis-server`` as a child process, with its append-only file in ``directory``."""

    def __init__(self, directory: Path, appendonly: bool = True, password: str = "") -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
            "--save", "",
            "--protected-mode", "yes",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read() if self.process.stderr else b""
                log = self.directory / "redis.log"
                text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"redis-server exited: {error!r} {text}")
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
                conn.sendall(b"PING\r\n")
                reply = conn.recv(64)
                return reply.startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """Send one command (inline protocol) and return the first reply bytes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as conn:
            conn.sendall(" ".join(args).encode() + b"\r\n")
            try:
                return conn.recv(65536)
            except OSError:
                return b""

    def shutdown_nosave(self) -> None:
        """``SHUTDOWN NOSAVE``: Redis stops at once (its append-only file is flushed)."""
        self.command("SHUTDOWN", "NOSAVE")
        self._reap(timeout=60)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
        self._reap()

    def _reap(self, timeout: float | None = None) -> None:
        """Wait for the process to exit and close its stderr pipe."""
        if self.process is not None:
            self.process.wait(timeout=timeout)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
