"""The extraction worker pool: time and memory budgets, crashes, restarts, back-pressure."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pipeline.exceptions import CallFailed, CallTimeout, OutOfMemory, WorkerDied
from pipeline.workers.pool import RSS_CHECK_CALLS, WorkerPool

_kept: list[bytes] = []


def behave(kind: str) -> str:
    """A stand-in for extraction that misbehaves as asked (runs in the worker)."""
    if kind == "hang":
        while True:  # pure CPU, as a pathological page keeps a parser busy
            pass
    if kind == "crash":
        os._exit(3)
    if kind == "raise":
        raise ValueError("bad page")
    if kind == "memory":
        hog = bytearray(1024 * 1024 * 1024)
        return str(len(hog))
    if kind.startswith("keep"):  # memory that stays resident after the call
        _kept.append(b"x" * int(kind.split()[1]) * 1024 * 1024)
    if kind.startswith("sleep"):
        time.sleep(float(kind.split()[1]))
    if kind == "started":
        return f"started {time.time()}"
    if kind == "crawl libraries":
        return " ".join(sorted(CRAWL_LIBRARIES & sys.modules.keys()))
    return f"{kind} in {os.getpid()}"


CRAWL_LIBRARIES = {"scrapy", "twisted", "sqlite_utils", "click"}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # noqa: PTH123
        return stat.read().split()[2] != "Z"


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    pool = WorkerPool(behave, 1, timeout=2, memory_mb=200, calls_per_worker=3)
    pool.start()
    yield pool
    pids = pool.pids
    pool.close()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids), "workers outlived the pool"


def run(pool: WorkerPool, kind: str) -> str:
    async def call() -> str:
        result: str = await pool.run(kind)
        return result

    return asyncio.run(call())


def test_a_call_that_overruns_its_budget_is_stopped_and_the_pool_goes_on(pool: WorkerPool) -> None:
    (before,) = pool.pids
    started = time.monotonic()
    with pytest.raises(CallTimeout, match="no result within 2 s") as error:
        run(pool, "hang")
    assert error.value.status == "extract_timeout"
    assert time.monotonic() - started < 6
    assert not alive(before)
    assert run(pool, "ok").startswith("ok in ")
    assert pool.replaced == 1


def test_a_worker_that_dies_is_replaced(pool: WorkerPool) -> None:
    with pytest.raises(WorkerDied, match="worker exited with code 3"):
        run(pool, "crash")
    assert run(pool, "ok").startswith("ok in ")


def test_a_call_handed_to_a_worker_that_died_idle_runs_in_another(pool: WorkerPool) -> None:
    """An idle worker killed (the OOM killer picks the largest process) before the reactor has
    read its end: the next call, written to it, never ran, and goes to its replacement."""

    async def calls() -> str:
        await pool.run("warm")
        (idle,) = pool._workers.values()
        assert idle.process.pid is not None
        os.kill(idle.process.pid, signal.SIGKILL)
        # Gone, its threads too (its socket closed), while the loop does not read its end.
        idle.process.join()
        result: str = await pool.run("innocent")
        return result

    assert asyncio.run(calls()).startswith("innocent in ")
    assert pool.replaced == 1


def test_an_exception_costs_the_call_not_the_worker(pool: WorkerPool) -> None:
    (before,) = pool.pids
    with pytest.raises(CallFailed, match="ValueError: bad page"):
        run(pool, "raise")
    assert pool.pids == {before}


def test_a_page_that_needs_too_much_memory_is_refused(pool: WorkerPool) -> None:
    with pytest.raises(OutOfMemory) as error:
        run(pool, "memory")
    assert error.value.status == "extract_too_large"
    assert run(pool, "ok").startswith("ok in ")


def test_workers_are_replaced_after_their_share_of_calls(pool: WorkerPool) -> None:
    first = {run(pool, "ok").rsplit(" ", 1)[1] for _ in range(3)}
    second = {run(pool, "ok").rsplit(" ", 1)[1] for _ in range(3)}
    assert len(first) == len(second) == 1
    assert first != second


def test_a_worker_grown_past_its_memory_cap_is_replaced() -> None:
    pool = WorkerPool(behave, 1, timeout=10, max_rss_mb=150, name="newsmon-test")
    pool.start()
    try:
        first = run(pool, "ok").rsplit(" ", 1)[1]
        assert run(pool, "ok").rsplit(" ", 1)[1] == first  # small: kept
        with open(f"/proc/{first}/comm", encoding="utf-8") as comm:  # noqa: PTH123
            assert comm.read().strip() == "newsmon-test"
        assert run(pool, "keep 200").rsplit(" ", 1)[1] == first
        # Memory is looked at every RSS_CHECK_CALLS calls: the worker goes after the tenth.
        for _ in range(RSS_CHECK_CALLS - 3):
            assert run(pool, "ok").rsplit(" ", 1)[1] == first
        assert run(pool, "ok").rsplit(" ", 1)[1] != first
        assert pool.replaced == 1
    finally:
        pool.close()


def test_callers_wait_for_a_free_worker() -> None:
    pool = WorkerPool(behave, 2, timeout=10)
    pool.start()

    async def calls() -> list[str]:
        return list(await asyncio.gather(*(pool.run("sleep 0.5") for _ in range(6))))

    try:
        run(pool, "ok")  # both workers have started
        run(pool, "ok")
        started = time.monotonic()
        results = asyncio.run(calls())
        elapsed = time.monotonic() - started
    finally:
        pool.close()
    assert len(results) == 6
    assert len({result.rsplit(" ", 1)[1] for result in results}) == 2
    assert elapsed >= 1.4  # three rounds of two: never more calls at once than workers


def test_urgent_calls_go_ahead_of_waiting_ones() -> None:
    pool = WorkerPool(behave, 1, timeout=10)
    pool.start()
    finished: list[str] = []

    async def call(kind: str, urgent: bool = False) -> None:
        await pool.run(kind, urgent=urgent)
        finished.append(kind)

    async def calls() -> None:
        busy = asyncio.create_task(call("sleep 0.5"))
        await asyncio.sleep(0.1)  # the worker has taken the first call
        await asyncio.gather(busy, call("page 1"), call("page 2"), call("feed", urgent=True))

    try:
        run(pool, "ok")  # the worker has started
        asyncio.run(calls())
    finally:
        pool.close()
    # Page 1 was handed to the busy worker as its next call already.
    assert finished == ["sleep 0.5", "page 1", "feed", "page 2"]


def test_a_busy_worker_goes_on_to_its_next_call_while_the_reactor_is_busy() -> None:
    pool = WorkerPool(behave, 1, timeout=10)
    pool.start()

    async def calls() -> list[str]:
        first = asyncio.ensure_future(pool.run("sleep 0.3"))
        second = asyncio.ensure_future(pool.run("started"))
        await asyncio.sleep(0.05)  # both handed out
        time.sleep(1.0)  # noqa: ASYNC251 (the event loop held up, as by a busy reactor)
        return [await first, await second]

    try:
        run(pool, "ok")  # the worker has started
        started = time.time()
        _, second = asyncio.run(calls())
    finally:
        pool.close()
    # It began the second call when it finished the first, not once the loop was free again.
    assert float(second.split()[1]) - started < 0.8


def test_a_call_handed_to_a_worker_that_then_fails_runs_in_another(pool: WorkerPool) -> None:
    async def calls(first: str) -> list[str | BaseException]:
        results = await asyncio.gather(pool.run(first), pool.run("ok"), return_exceptions=True)
        return list(results)

    (before,) = pool.pids
    died, after_death = asyncio.run(calls("crash"))
    assert isinstance(died, WorkerDied)
    assert isinstance(after_death, str) and after_death.startswith("ok in ")
    assert int(after_death.rsplit(" ", 1)[1]) != before
    overran, after_timeout = asyncio.run(calls("hang"))
    assert isinstance(overran, CallTimeout)
    assert isinstance(after_timeout, str) and after_timeout.startswith("ok in ")


def test_workers_due_for_replacement_are_handed_no_next_call(pool: WorkerPool) -> None:
    async def calls() -> list[str]:
        return list(await asyncio.gather(*(pool.run("sleep 0.05") for _ in range(6))))

    results = asyncio.run(calls())
    by_worker = [result.rsplit(" ", 1)[1] for result in results]
    # Three calls each (calls_per_worker), and no call made twice.
    assert [by_worker.count(pid) for pid in dict.fromkeys(by_worker)] == [3, 3]
    assert pool.replaced == 2


def test_workers_do_not_load_the_crawl_s_libraries(pool: WorkerPool) -> None:
    assert run(pool, "crawl libraries") == ""  # 22 MB of Scrapy alone, in every worker
    # The newsmon command's module, which "spawn" imports again in each worker, loads none either.
    probe = "import sys, pipeline.__main__; print(sorted({} & sys.modules.keys()))"
    command = [sys.executable, "-c", probe.format(sorted(CRAWL_LIBRARIES))]
    assert subprocess.run(command, capture_output=True, text=True, check=True).stdout == "[]\n"


def test_recycle_replaces_idle_workers_by_fresh_ones(pool: WorkerPool) -> None:
    assert run(pool, "keep 20").startswith("keep 20 in ")
    (before,) = pool.pids
    pool.recycle()
    (after,) = pool.pids
    assert after != before and not alive(before)
    assert run(pool, "x") == f"x in {after}"
    assert pool.replaced == 0  # not counted as worn out or failed
