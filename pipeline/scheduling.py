"""Scheduler queue: requests taken host by host, at a cost that does not grow with the hosts.

Scrapy's ``DownloaderAwarePriorityQueue`` (its default) takes the next request from the host with
the fewest downloads in progress. It finds that host by counting the downloads of every host
with requests waiting, on every request, and counts every waiting request for ``len``. A run of
4,700 feeds on as many hosts spent a quarter of the crawl process's time there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from scrapy.pqueues import DownloaderAwarePriorityQueue, DownloaderInterface

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler


class HostRoundRobinQueue(DownloaderAwarePriorityQueue):
    """``DownloaderAwarePriorityQueue`` that serves hosts in turn.

    The next request comes from the host served longest ago among those with no download in
    progress; when every waiting host has downloads in progress, from the one with fewest. Hosts
    busy downloading are at most ``CONCURRENT_REQUESTS``, so a pop looks at that many hosts at
    most. Within a host, requests keep their priority order.
    """

    def __init__(self, crawler: Crawler, *args: Any, **kwargs: Any) -> None:
        super().__init__(crawler, *args, **kwargs)
        self._downloader_interface = _LeastBusyHost(crawler)
        self._size = sum(len(queue) for queue in self.pqueues.values())

    def push(self, request: Request) -> None:
        super().push(request)
        self._size += 1

    def pop(self) -> Request | None:
        request = super().pop()
        if request is not None:
            self._size -= 1
            # Scrapy's pop records the host it chose; it goes to the back of the round.
            host = self._last_selected_slot
            if host in self.pqueues:
                self.pqueues[host] = self.pqueues.pop(host)
        return request

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
