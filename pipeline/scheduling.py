"""Scheduler queue: the highest priority first across hosts, hosts in turn, at a cost that does
not grow with the hosts.

Scrapy's ``DownloaderAwarePriorityQueue`` (its default) takes the next request from the host with
the fewest downloads in progress, and compares priorities within that host only: a host's pages
were asked for while other hosts' feeds still waited, so a run's pages and its feeds were mixed
from the first seconds. It also finds its host by counting the downloads of
every host with requests waiting, on every request, and counts every waiting request for
``len``: a run of 4,700 feeds on as many hosts spent a quarter of the crawl process's time there.
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
    serves hosts in turn.

    The next request comes from a host with no download in progress: the one with a request of
    the highest priority waiting (feeds before pages, whatever their host), the one served
    longest ago among equals. A host busy with its feeds thus does not hold up the pages of idle
    ones. When every waiting host has downloads in progress, it comes from the least busy host
    with a request of the highest priority. Hosts busy downloading are at most
    ``CONCURRENT_REQUESTS``, so a pop looks at that many hosts at most for each priority.
    """

    def __init__(self, crawler: Crawler, *args: Any, **kwargs: Any) -> None:
        super().__init__(crawler, *args, **kwargs)
        if self.pqueues:
            raise ValueError("HostRoundRobinQueue cannot resume a crawl (JOBDIR)")
        self._downloader_interface = _LeastBusyHost(crawler)
        # For each priority, the hosts with requests of that priority waiting (served longest
        # ago first) and how many.
        self._waiting: dict[int, dict[str, int]] = {}
        self._size = 0

    def push(self, request: Request) -> None:
        super().push(request)
        host = self._downloader_interface.get_slot_key(request)
        hosts = self._waiting.setdefault(request.priority, {})
        hosts[host] = hosts.get(host, 0) + 1
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
        for priority, hosts in list(self._waiting.items()):
            if host not in hosts:
                continue
            left = hosts.pop(host) - (priority == request.priority)
            if left:
                hosts[host] = left  # to the back of the round
            elif not hosts:
                del self._waiting[priority]
        return request

    def peek(self) -> Request | None:
        host = self._next_host()
        return None if host is None else self.pqueues[host].peek()

    def _next_host(self) -> str | None:
        """An idle host with a request of the highest priority, else of a lower one; when no
        host is idle, the least busy with a request of the highest priority."""
        least_busy: str | None = None
        for priority in sorted(self._waiting, reverse=True):
            [(active, host)] = self._downloader_interface.stats(self._waiting[priority])
            if not active:
                return host
            if least_busy is None:
                least_busy = host
        return least_busy

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
