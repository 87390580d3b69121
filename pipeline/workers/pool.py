"""A pool of worker processes that run one function, each call with a time and memory budget.

``concurrent.futures.ProcessPoolExecutor`` cannot stop one call: a page that keeps trafilatura
busy for ever would hold its worker for ever, and a worker that dies breaks the whole executor.
Here each worker is a process of its own with a pipe, awaited from asyncio without blocking the
reactor: a call that overruns its time budget has its worker killed and replaced, a worker that
dies (out of memory, a crash in C code) is replaced, and every worker is replaced after a number
of calls, since long-lived extraction processes grow. A busy worker is handed its next call
before it finishes the one it is on, so that it goes on at once instead of waiting for a busy
reactor to read its reply; beyond that callers wait, so no more pages are handed out than two
per worker (back-pressure).

The crawl has one pool (``crawl_workers``), shared by the feed spider, which has feeds parsed in
it, and ``ExtractPipeline``, which has pages extracted in it; the workers run
``pipeline.workers.crawl_tasks``.

Settings (read by ``crawl_workers``): ``NEWSMON_EXTRACT_WORKERS``, ``NEWSMON_EXTRACT_TIMEOUT``,
``NEWSMON_EXTRACT_MEMORY_MB``, ``NEWSMON_EXTRACT_TASKS_PER_WORKER``,
``NEWSMON_WORKER_MAX_RSS_MB``. Stats: ``newsmon/workers/replaced``.
"""

from __future__ import annotations

import asyncio
import fcntl
import importlib
import logging
import multiprocessing
import os
import resource
import signal
import socket
import struct
import termios
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from pipeline.exceptions import CallFailed, CallTimeout, OutOfMemory, WorkerDied, WorkerError
from pipeline.workers.memory import (
    data_bytes,
    libc,
    map_large_buffers_apart,
    release_free_memory,
    rss_mb,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# After an input this large the worker gives free heap pages back; that takes time, so it is not
# done after every call.
TRIM_AFTER_BYTES = 256 * 1024
PR_SET_NAME = 15
SEND_INLINE_BYTES = 1024 * 1024  # larger inputs are written to the worker from a thread
RSS_CHECK_CALLS = 10  # a worker's resident memory is read after every this many calls
STARTUP_SECONDS = 120  # for a new worker to import its libraries, on the busiest machine
# A busy worker's next call is written only if the socket takes it without blocking. The kernel
# caps this at net.core.wmem_max, commonly far lower, and larger pages then wait for an idle
# worker (docs/performance.md).
SEND_BUFFER_BYTES = 4 * 1024 * 1024


def exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """Worker initializer: end this worker when the crawl ``parent`` that started it is gone.

    A crawl killed with SIGKILL cannot stop its workers, and they would wait on their task queue
    for ever (other workers keep the queue's pipe open). The parent's pid is passed in, not read
    here: the parent may have died while this worker was still starting.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@dataclass
class _Call:
    args: tuple[Any, ...]
    timeout: float
    result: asyncio.Future[Any]


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    calls: int = 0
    ready: bool = False
    attached: bool = False  # its replies are read by the event loop
    call: _Call | None = None  # the call it is running
    next: _Call | None = None  # sent while it was busy: the call it runs next
    sending: bool = False  # a large input is being written from a thread
    started: float = 0.0  # when it began its call
    deadline: asyncio.TimerHandle | None = None


def _worker_main(
    conn: Connection, parent: int, memory_mb: int, target: Callable[..., Any] | str, name: str
) -> None:
    exit_with_parent(parent)
    _set_process_name(name)
    map_large_buffers_apart()
    function = target
    if isinstance(target, str):  # "module:function", imported here and not in the crawl
        module, _, function_name = target.partition(":")
        function = getattr(importlib.import_module(module), function_name)
    assert callable(function)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the crawl decides when workers stop
    if memory_mb:
        # On top of what the interpreter and its libraries use already.
        limit = data_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    conn.send(("ready", None))
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("result", function(*args))
        except MemoryError:
            reply = ("memory", "out of memory")
        except Exception as exc:  # noqa: BLE001 (reported to the caller, who records it)
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        conn.send(reply)
        if reply[0] == "memory":
            return  # a heap that ran out is not worth keeping
        large = _payload_bytes(args) > TRIM_AFTER_BYTES
        del args, reply
        if large:
            release_free_memory()


def _payload_bytes(args: tuple[Any, ...]) -> int:
    return sum(len(a) for a in args if isinstance(a, str | bytes))


def _set_process_name(name: str) -> None:
    """Name the worker as ``ps`` and ``top`` show it (Linux keeps 15 bytes of it)."""
    lib = libc()
    if lib is not None:
        lib.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


class WorkerPool:
    """Worker processes that run ``target``, one call at a time each.

    Calls wait in one queue. Everything else happens in reactor callbacks, without a coroutine
    in between: when a worker's reply is read, the next call is sent to it at once, so a worker
    does not wait for a busy reactor to get round to handing it the next page.
    """

    def __init__(
        self,
        target: Callable[..., Any] | str,
        size: int,
        *,
        timeout: float,
        memory_mb: int = 0,
        calls_per_worker: int = 0,
        max_rss_mb: int = 0,
        name: str = "newsmon-worker",
    ) -> None:
        self.target = target
        self.name = name
        self.size = size
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.calls_per_worker = calls_per_worker
        self.max_rss_mb = max_rss_mb
        self.replaced = 0
        self._context = multiprocessing.get_context("spawn")
        self._queue: deque[_Call] = deque()
        self._idle: deque[_Worker] = deque()
        self._workers: dict[int, _Worker] = {}  # every live worker, by pid
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = True

    def start(self) -> None:
        if not self._closed:
            return  # started already
        self._closed = False
        for _ in range(self.size):
            self._spawn()

    def close(self) -> None:
        """Stop every worker (idle ones at once, busy ones are killed); queued calls fail."""
        self._closed = True
        for worker in list(self._workers.values()):
            self._stop(worker, kill=worker.call is not None or not worker.ready)
            self._fail(worker, WorkerError("the worker pool is closed"))
        self._idle.clear()
        while self._queue:
            call = self._queue.popleft()
            if not call.result.done():
                call.result.set_exception(WorkerError("the worker pool is closed"))

    def recycle(self) -> None:
        """Replace every idle worker by a fresh one, whose heap and caches are not those of the
        work it did: before work of another kind, so that the two are not resident together."""
        if self._closed:
            return
        for worker in list(self._idle):
            # Killed: an idle worker has nothing to lose, and one left to exit by itself would
            # hold up the reactor while its interpreter winds down.
            self._stop(worker, kill=True)
            self._spawn()

    @property
    def pids(self) -> set[int]:
        return set(self._workers)

    async def run(self, *args: Any, timeout: float | None = None, urgent: bool = False) -> Any:
        """``target(*args)`` in a worker; WorkerError if it fails, overruns its time budget (the
        pool's, or ``timeout`` seconds) or kills the worker. An ``urgent`` call goes ahead of
        the others waiting."""
        if self._closed:
            raise WorkerError("the worker pool is closed")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the first call (tests may run several loops in turn)
            self._loop = loop
            for worker in self._workers.values():
                worker.attached = False
                self._attach(worker)
        call = _Call(args, timeout or self.timeout, loop.create_future())
        if urgent:
            self._queue.appendleft(call)
        else:
            self._queue.append(call)
        self._dispatch()
        return await call.result

    def _dispatch(self) -> None:
        while self._queue:
            call = self._queue[0]
            if call.result.done():
                self._queue.popleft()  # its caller is gone
                continue
            if self._idle:
                self._queue.popleft()
                self._send(self._idle.popleft(), call)
            elif worker := self._busy_worker_for(call):
                self._queue.popleft()
                worker.next = call
                self._write(worker, call.args)  # into the socket's buffer: does not block
            else:
                return

    def _busy_worker_for(self, call: _Call) -> _Worker | None:
        """The busy worker that began its call first, of those that may be handed ``call``
        now: one next call each, none to a worker due for replacement after its call, and
        only what its socket takes without blocking the reactor."""
        size = _payload_bytes(call.args) * 21 // 20 + 4096  # and the kernel's own bookkeeping
        fitting = [
            worker
            for worker in self._workers.values()
            if worker.call is not None
            and worker.next is None
            and not worker.sending
            and not (self.calls_per_worker and worker.calls + 1 >= self.calls_per_worker)
            and _send_room(worker.conn) >= size
        ]
        return min(fitting, key=lambda worker: worker.started, default=None)

    def _send(self, worker: _Worker, call: _Call) -> None:
        self._begin(worker, call)
        assert self._loop is not None
        if _payload_bytes(call.args) >= SEND_INLINE_BYTES:
            # Megabytes: written from a thread, so the reactor goes on meanwhile.
            worker.sending = True
            sending = self._loop.run_in_executor(None, worker.conn.send, call.args)
            sending.add_done_callback(lambda done: self._sent(worker, done.exception()))
            return
        # The worker is idle, reading: written at once; if it died idle (killed, its end not
        # read yet), the call never reached it.
        self._write(worker, call.args, unsent=call)

    def _write(self, worker: _Worker, args: tuple[Any, ...], unsent: _Call | None = None) -> None:
        try:
            worker.conn.send(args)
        except OSError as exc:
            self._sent(worker, exc, unsent)

    def _begin(self, worker: _Worker, call: _Call) -> None:
        """Note that ``worker`` is running ``call`` now, and start its time budget."""
        assert self._loop is not None
        worker.call, worker.started = call, time.monotonic()
        worker.deadline = self._loop.call_later(call.timeout, self._overran, worker)

    def _sent(
        self, worker: _Worker, error: BaseException | None, unsent: _Call | None = None
    ) -> None:
        """After a write to ``worker``: if it failed, the worker is gone. ``unsent``: the call
        the write was to begin, never begun, so it goes first to another worker instead of
        failing (not so a payload written from a thread: its worker may have died reading it)."""
        worker.sending = False
        if error is not None and worker.call is not None:  # the worker is gone
            if unsent is not None and worker.call is unsent:
                worker.call = None
                self._queue.appendleft(unsent)
            worker.process.join(1)
            self._replace(worker, WorkerDied(_how_it_ended(worker.process.exitcode)))

    def _readable(self, worker: _Worker) -> None:
        try:
            kind, value = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(1)
            self._replace(worker, WorkerDied(_how_it_ended(worker.process.exitcode)))
            return
        if worker.deadline is not None:  # of its start-up, or of its call
            worker.deadline.cancel()
        if kind == "ready":
            worker.ready = True
            self._idle.append(worker)
            self._dispatch()
            return
        call, worker.call = worker.call, None
        worker.calls += 1
        if call is not None and not call.result.done():
            if kind == "result":
                call.result.set_result(value)
            elif kind == "memory":
                call.result.set_exception(OutOfMemory(f"more than {self.memory_mb} MB"))
            else:
                call.result.set_exception(CallFailed(value))
        if kind == "memory" or self._worn_out(worker):
            self._replace(worker, None)
            return
        if worker.next is not None:
            call, worker.next = worker.next, None
            self._begin(worker, call)  # the worker has started on it already
        else:
            self._idle.append(worker)
        self._dispatch()

    def _overran(self, worker: _Worker) -> None:
        if worker.call is None:  # still starting
            self._replace(worker, WorkerDied(f"worker did not start in {STARTUP_SECONDS} s"))
            return
        self._replace(worker, CallTimeout(f"no result within {worker.call.timeout:g} s"))

    def _worn_out(self, worker: _Worker) -> bool:
        """Due for replacement: after ``calls_per_worker`` calls, or once its resident memory
        is over ``max_rss_mb`` (heaps fragment, and libraries' caches grow)."""
        if self.calls_per_worker and worker.calls >= self.calls_per_worker:
            return True
        if not self.max_rss_mb or worker.calls % RSS_CHECK_CALLS:
            return False
        return rss_mb(worker.process.pid) > self.max_rss_mb

    def _fail(self, worker: _Worker, error: WorkerError) -> None:
        """Fail the worker's call, and put the call it would have run next back at the head of
        the queue; a worker that died before it was ready fails a queued call, so that a worker
        that cannot start does not leave callers waiting for ever."""
        self._requeue_next(worker)
        call, worker.call = worker.call, None
        if call is None and not worker.ready:
            while self._queue and call is None:
                call = self._queue.popleft()
                if call.result.done():
                    call = None
        if call is not None and not call.result.done():
            call.result.set_exception(error)

    def _requeue_next(self, worker: _Worker) -> None:
        if worker.next is not None:
            self._queue.appendleft(worker.next)
            worker.next = None

    def _replace(self, worker: _Worker, error: WorkerError | None) -> None:
        # A worker replaced after its last call may have begun the next one: stopped, and the
        # call run again by another worker.
        kill = error is not None or worker.next is not None
        if error is not None:
            self._fail(worker, error)
        else:
            self._requeue_next(worker)
        self._stop(worker, kill=kill)
        if not self._closed:
            self.replaced += 1
            self._spawn()

    def _spawn(self) -> None:
        ours, theirs = self._context.Pipe()
        _enlarge_send_buffer(ours)
        process = self._context.Process(
            target=_worker_main,
            args=(theirs, os.getpid(), self.memory_mb, self.target, self.name),
            name=self.name,
            daemon=True,
        )
        process.start()
        theirs.close()
        assert process.pid is not None
        worker = _Worker(process, ours)
        self._workers[process.pid] = worker
        if self._loop is not None and not self._loop.is_closed():
            self._attach(worker)

    def _attach(self, worker: _Worker) -> None:
        """Have the event loop read the worker's replies."""
        assert self._loop is not None
        if not worker.ready:  # until it is ready (libraries imported), it is given no calls
            worker.deadline = self._loop.call_later(STARTUP_SECONDS, self._overran, worker)
        self._loop.add_reader(worker.conn.fileno(), self._readable, worker)
        worker.attached = True

    def _stop(self, worker: _Worker, kill: bool) -> None:
        if worker.process.pid not in self._workers:
            return  # stopped already
        del self._workers[worker.process.pid]
        if worker in self._idle:
            self._idle.remove(worker)
        if worker.deadline is not None:
            worker.deadline.cancel()
        if worker.attached and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(worker.conn.fileno())
        if kill:
            worker.process.kill()
        worker.conn.close()  # an idle worker reads end-of-file and returns
        worker.process.join(5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(1)


@contextmanager
def _socket_of(conn: Connection) -> Iterator[socket.socket]:
    """The socket under ``conn``, borrowed: not closed afterwards."""
    sock = socket.socket(fileno=conn.fileno())
    try:
        yield sock
    finally:
        sock.detach()


def _enlarge_send_buffer(conn: Connection) -> None:
    with _socket_of(conn) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)


def _send_room(conn: Connection) -> int:
    """Bytes the socket of ``conn`` takes without blocking: its send buffer less what is in it."""
    try:
        with _socket_of(conn) as sock:
            size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            queued = fcntl.ioctl(conn.fileno(), termios.TIOCOUTQ, b"\0" * 4)
    except OSError:
        return 0
    return int(size) - int(struct.unpack("i", queued)[0])


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "worker stopped answering"
    if exitcode < 0:
        return f"worker killed by {signal.Signals(-exitcode).name}"
    return f"worker exited with code {exitcode}"


_CRAWL_WORKERS: WeakKeyDictionary[Crawler, WorkerPool] = WeakKeyDictionary()


def crawl_workers(crawler: Crawler) -> WorkerPool:
    """The crawl's worker processes (``pipeline.workers.crawl_tasks``), shared by feed parsing
    and extraction.

    Built from the settings on first use, started when the spider opens and stopped when it
    closes. Calls get the extraction time budget unless they give their own.
    """
    # Not imported with the module: worker processes import it too, and must not load Scrapy
    # (measurements: docs/performance.md).
    from scrapy import signals

    pool = _CRAWL_WORKERS.get(crawler)
    if pool is None:
        settings = crawler.settings
        pool = WorkerPool(
            # By name: trafilatura is imported by the workers only, never by the crawl itself.
            "pipeline.workers.crawl_tasks:run",
            settings.getint("NEWSMON_EXTRACT_WORKERS") or os.cpu_count() or 1,
            timeout=settings.getfloat("NEWSMON_EXTRACT_TIMEOUT"),
            memory_mb=settings.getint("NEWSMON_EXTRACT_MEMORY_MB"),
            calls_per_worker=settings.getint("NEWSMON_EXTRACT_TASKS_PER_WORKER"),
            max_rss_mb=settings.getint("NEWSMON_WORKER_MAX_RSS_MB"),
        )
        _CRAWL_WORKERS[crawler] = pool

        def close() -> None:
            pool.close()
            assert crawler.stats is not None
            crawler.stats.set_value("newsmon/workers/replaced", pool.replaced)

        crawler.signals.connect(pool.start, signal=signals.spider_opened, weak=False)
        crawler.signals.connect(close, signal=signals.spider_closed, weak=False)
    return pool
