"""The C heap of newsmon's processes (glibc): what they hold, and giving back what they do not.

Used by the worker pool, in each worker (large buffers mapped apart, free memory handed back
after a large input, resident size and data segment read), and by ``pipeline.api.crawl`` in the
crawl process.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)
LARGE_BUFFER_BYTES = 128 * 1024
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@functools.cache
def libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def map_large_buffers_apart() -> None:
    """Give every buffer over 128 KiB (a page, a feed, their pickles) a mapping of its own,
    handed back to the system as soon as it is freed.

    glibc starts so, but raises that threshold to the size of each such buffer freed (up to
    32 MiB); later pages are then carved from the heap, which they leave full of holes, and the
    process's peak memory is higher (measurements: docs/performance.md). ``newsmon crawl`` calls
    this in the crawl process, and each worker at its start.
    """
    lib = libc()
    if lib is not None:
        lib.mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES)


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system, so that a process's resident size
    follows what it holds, not the most it ever held."""
    lib = libc()
    if lib is not None:
        lib.malloc_trim(0)


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default); 0 if it is gone."""
    try:
        resident_pages = int(Path(f"/proc/{pid or 'self'}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return resident_pages * _PAGE_SIZE / (1024 * 1024)


def data_bytes() -> int:
    """This process's data segment size (VmData), the figure RLIMIT_DATA limits."""
    for line in Path("/proc/self/status").read_text("ascii").splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0
