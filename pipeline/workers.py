"""A pool of worker processes that run one function, each call with a time and memory budget.

``concurrent.futures.ProcessPoolExecutor`` cannot stop one call: a page that keeps trafilatura
busy for ever would hold its worker for ever, and a worker that dies breaks the whole executor.
Here each worker is a process of its own with a pipe, awaited from asyncio without blocking the
reactor: a call that overruns its time budget has its worker killed and replaced, a worker that
dies (out of memory, a crash in C code) is replaced, and every worker is replaced after a number
of calls, since long-lived extraction processes grow. Callers wait for an idle worker, so no
more pages are handed out than there are workers to extract them (back-pressure).
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import importlib
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# After an input this large the worker gives free heap pages back (a few milliseconds).
TRIM_AFTER_BYTES = 256 * 1024
STARTUP_SECONDS = 120  # for a new worker to import its libraries, on the busiest machine


class WorkerError(Exception):
    """A call that did not return a result; ``status`` is what to record."""

    status = "extract_failed"


class CallTimeout(WorkerError):
    status = "extract_timeout"


class WorkerDied(WorkerError):
    pass


class CallFailed(WorkerError):
    """The function raised in the worker (the worker itself is fine)."""


class OutOfMemory(WorkerError):
    status = "extract_too_large"


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
class _Worker:
    process: BaseProcess
    conn: Connection
    calls: int = 0
    ready: bool = False


def _worker_main(
    conn: Connection, parent: int, memory_mb: int, target: Callable[..., Any] | str
) -> None:
    exit_with_parent(parent)
    function = target
    if isinstance(target, str):  # "module:function", imported here and not in the crawl
        module, _, name = target.partition(":")
        function = getattr(importlib.import_module(module), name)
    assert callable(function)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the crawl decides when workers stop
    if memory_mb:
        # On top of what the interpreter and its libraries use already.
        limit = _data_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    conn.send(("ready", None))
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", function(*args))
        except MemoryError:
            reply = ("memory", "out of memory")
        except Exception as exc:  # noqa: BLE001 (reported to the caller, who records it)
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        conn.send(reply)
        if reply[0] == "memory":
            return  # a heap that ran out is not worth keeping
        large = sum(len(a) for a in args if isinstance(a, str | bytes)) > TRIM_AFTER_BYTES
        del args, reply
        if large:
            _release_free_memory()


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc keeps them after a big page or
    feed), so a worker's resident size follows what it holds, not the largest input so far."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _data_bytes() -> int:
    """This process's data segment size (VmData), the figure RLIMIT_DATA limits."""
    for line in Path("/proc/self/status").read_text("ascii").splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0


class WorkerPool:
    def __init__(
        self,
        target: Callable[..., Any] | str,
        size: int,
        *,
        timeout: float,
        memory_mb: int = 0,
        calls_per_worker: int = 0,
    ) -> None:
        self.target = target
        self.size = size
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.calls_per_worker = calls_per_worker
        self.replaced = 0
        self._context = multiprocessing.get_context("spawn")
        self._idle: deque[_Worker] = deque()
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._all: set[int] = set()
        self._closed = True

    def start(self) -> None:
        self._closed = False
        for _ in range(self.size):
            self._idle.append(self._spawn())

    def close(self) -> None:
        """Stop every worker (idle ones at once; busy ones are killed)."""
        self._closed = True
        while self._idle:
            self._stop(self._idle.popleft(), kill=False)
        for waiter in self._waiting:
            if not waiter.done():
                waiter.cancel()
        self._waiting.clear()

    @property
    def pids(self) -> set[int]:
        return set(self._all)

    async def run(self, *args: Any) -> Any:
        """``target(*args)`` in a worker; WorkerError if it fails, overruns or kills the worker."""
        worker = await self._acquire()
        try:
            kind, value = await self._call(worker, args)
        except BaseException:
            self._replace(worker, kill=True)
            raise
        worker.calls += 1
        if kind == "memory":
            self._replace(worker, kill=False)
            raise OutOfMemory(f"more than {self.memory_mb} MB")
        if self.calls_per_worker and worker.calls >= self.calls_per_worker:
            self._replace(worker, kill=False)
        else:
            self._release(worker)
        if kind == "error":
            raise CallFailed(value)
        return value

    async def _acquire(self) -> _Worker:
        while not self._idle:
            if self._closed:
                raise WorkerError("the worker pool is closed")
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            await waiter
        return self._idle.popleft()

    def _release(self, worker: _Worker) -> None:
        if self._closed:
            self._stop(worker, kill=False)
            return
        self._idle.append(worker)
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    async def _call(self, worker: _Worker, args: tuple[Any, ...]) -> tuple[str, Any]:
        if not worker.ready:  # the budget starts once the worker has imported what it needs
            await self._receive(worker, STARTUP_SECONDS)
            worker.ready = True
        try:
            # A page can be megabytes: the pipe is written from a thread, not the reactor.
            await asyncio.to_thread(worker.conn.send, args)
        except (BrokenPipeError, ConnectionResetError):
            worker.process.join(1)
            raise WorkerDied(_how_it_ended(worker.process.exitcode)) from None
        return await self._receive(worker, self.timeout)

    async def _receive(self, worker: _Worker, timeout: float) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[tuple[str, Any]] = loop.create_future()
        descriptor = worker.conn.fileno()

        def readable() -> None:
            loop.remove_reader(descriptor)
            if reply.done():
                return
            try:
                reply.set_result(worker.conn.recv())
            except (EOFError, OSError):
                worker.process.join(1)
                reply.set_exception(WorkerDied(_how_it_ended(worker.process.exitcode)))

        loop.add_reader(descriptor, readable)
        try:
            return await asyncio.wait_for(reply, timeout)
        except TimeoutError:
            raise CallTimeout(f"no result within {timeout:g} s") from None
        finally:
            loop.remove_reader(descriptor)

    def _spawn(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(theirs, os.getpid(), self.memory_mb, self.target),
            name="newsmon-worker",
            daemon=True,
        )
        process.start()
        theirs.close()
        assert process.pid is not None
        self._all.add(process.pid)
        return _Worker(process, ours)

    def _stop(self, worker: _Worker, kill: bool) -> None:
        if kill:
            worker.process.kill()
        worker.conn.close()  # an idle worker reads end-of-file and returns
        worker.process.join(5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(1)
        if worker.process.pid is not None:
            self._all.discard(worker.process.pid)

    def _replace(self, worker: _Worker, kill: bool) -> None:
        self._stop(worker, kill)
        if not self._closed:
            self.replaced += 1
            self._release(self._spawn())


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "worker stopped answering"
    if exitcode < 0:
        return f"worker killed by {signal.Signals(-exitcode).name}"
    return f"worker exited with code {exitcode}"
