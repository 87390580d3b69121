"""One crawl per database at a time: an exclusive ``flock`` on ``<database>.lock``.

The kernel releases the lock when the process ends, however it ends, so a killed crawl never
leaves a stale lock behind. ``newsmon crawl`` takes it before the crawl starts; for
``scrapy crawl feeds`` the ``pipeline.extensions.crawllock.CrawlLock`` extension takes it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pipeline.exceptions import CrawlLocked

if TYPE_CHECKING:
    from typing import IO, Self


class DatabaseLock:
    """The lock of one database; ``CrawlLocked`` if another process holds it."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(f"{db_path}.lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise CrawlLocked(
                f"another crawl is running on {str(self.path)[: -len('.lock')]} (pid {holder})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
