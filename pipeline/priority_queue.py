"""Scheduler queue: the highest priority first across hosts, the host with the most waiting
first, at a cost that does not grow with the hosts.

Scrapy's scheduler takes every request from it (``SCHEDULER_PRIORITY_QUEUE``). Scrapy's own
``DownloaderAwarePriorityQueue`` (its default) takes the next request from the host with the
fewest downloads in progress, and compares priorities within that host only: a host's pages are
asked for while other hosts' feeds still wait, so a run's pages and its feeds are mixed from the
first seconds. It also finds its host by counting the downloads of every host with requests
waiting, on every request, and counts every waiting request for ``len``, which with thousands of
hosts takes a large share of the crawl process's time (measurements: docs/performance.md).

Settings: none of its own. Like Scrapy's queue it needs ``CONCURRENT_REQUESTS_PER_IP`` at 0, and
it cannot resume a crawl (``JOBDIR``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from scrapy.pqueues import DownloaderAwarePriorityQueue, DownloaderInterface

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler


class HostRoundRobinQueue(DownloaderAwarePriorityQueue):
    """``DownloaderAwarePriorityQueue`` that takes the highest priority waiting on any host, and
    the host with the most requests of it waiting first.

    The next request comes from a host with no download in progress: the one with a request of
    the highest priority waiting (feeds before pages, whatever their host), of those the one with
    the most such requests waiting, and of equals the one served longest ago. A host busy with its
    feeds thus does not hold up the pages of idle ones, and a site with many pages is asked
    whenever it is idle rather than once per round of every other site: served in turn, its last
    pages would be asked for at the very end of the run, where one page slow to answer holds up
    the finish (measurements: docs/performance.md). When every waiting host has downloads in
    progress, the request comes from the least busy host with a request of the highest priority.
    Hosts busy downloading are at most ``CONCURRENT_REQUESTS``, so a pop looks at that many hosts
    at most for each priority (and at each distinct count of waiting requests).
    """

    def __init__(self, crawler: Crawler, *args: Any, **kwargs: Any) -> None:
        super().__init__(crawler, *args, **kwargs)
        if self.pqueues:
            raise ValueError("HostRoundRobinQueue cannot resume a crawl (JOBDIR)")
        self._downloader_interface = _LeastBusyHost(crawler)
        # For each priority, how many requests of it each host has waiting, and the hosts by
        # that count (served longest ago first).
        self._waiting: dict[int, dict[str, int]] = {}
        self._by_count: dict[int, dict[int, dict[str, None]]] = {}
        self._size = 0

    def push(self, request: Request) -> None:
        super().push(request)
        host = self._downloader_interface.get_slot_key(request)
        self._count(request.priority, host, +1)
        self._size += 1

    def pop(self) -> Request | None:
        host = self._next_host()
        if host is None:
            return None
        queue = self.pqueues[host]
        request = queue.pop()
        assert request is not None
        if not queue:
            del self.pqueues[host]
            queue.close()
        self._size -= 1
        self._count(request.priority, host, -1)
        for priority, waiting in self._waiting.items():  # served: to the back everywhere
            if priority != request.priority and host in waiting:
                self._count(priority, host, 0)
        return request

    def peek(self) -> Request | None:
        host = self._next_host()
        return None if host is None else self.pqueues[host].peek()

    def _count(self, priority: int, host: str, change: int) -> None:
        """Count a request of ``priority`` in or out (``change`` 1 or -1): the host goes to the
        back of the hosts with its new count; with a ``change`` of 0, only to the back."""
        waiting = self._waiting.setdefault(priority, {})
        by_count = self._by_count.setdefault(priority, {})
        before = waiting.get(host, 0)
        after = before + change
        if before:
            hosts = by_count[before]
            del hosts[host]
            if not hosts:
                del by_count[before]
        if after:
            waiting[host] = after
            by_count.setdefault(after, {})[host] = None
        else:
            del waiting[host]
            if not waiting:
                del self._waiting[priority], self._by_count[priority]

    def _next_host(self) -> str | None:
        """An idle host with a request of the highest priority, else of a lower one; when no
        host is idle, the least busy with a request of the highest priority."""
        least_busy: tuple[int, str] | None = None
        for rank, priority in enumerate(sorted(self._waiting, reverse=True)):
            by_count = self._by_count[priority]
            for count in sorted(by_count, reverse=True):
                [(active, host)] = self._downloader_interface.stats(by_count[count])
                if not active:
                    return host
                if rank == 0 and (least_busy is None or active < least_busy[0]):
                    least_busy = (active, host)
        return None if least_busy is None else least_busy[1]

    def __len__(self) -> int:
        return self._size


class _LeastBusyHost(DownloaderInterface):
    def stats(self, possible_slots: Iterable[str]) -> list[tuple[int, str]]:
        """The one host to take a request from, of those waiting in the order they were served."""
        best: tuple[int, str] | None = None
        for slot in possible_slots:
            active = self._active_downloads(slot)
            if active == 0:
                return [(0, slot)]
            if best is None or active < best[0]:
                best = (active, slot)
        return [best] if best is not None else []
