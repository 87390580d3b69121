"""The shared frontier: leases, completing tasks once, taking over a vanished node's tasks.

The scripts run on a real ``redis-server`` (``tests/redisserver.py``); the results stream and the
known set also on fakeredis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from redis.exceptions import AuthenticationError

from pipeline.cluster import messages
from pipeline.cluster.frontier import Frontier, connect, safe_url
from pipeline.cluster.messages import Result, Task
from pipeline.cluster.node import NodeSpider
from pipeline.items import Entry
from tests.redisserver import RedisServer

HOST = "news.example.kz"


def run(redis_url: str, scenario: Callable[[Frontier], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client = connect(redis_url)
        try:
            return await scenario(Frontier(client))
        finally:
            await client.aclose()

    return asyncio.run(main())


def feed_task(run_id: int, url: str = f"https://{HOST}/rss") -> str:
    return messages.encode_task(Task(messages.FEED, url, run_id))


def encoded_result(task: str = "t") -> str:
    return messages.encode_result(Result(task=task, run=1, node="n", kind=messages.FEED))


def test_one_node_at_a_time_holds_a_host(redis_server: RedisServer) -> None:
    async def scenario(frontier: Frontier) -> None:
        assert await frontier.acquire(HOST, "a", ttl=30)
        assert not await frontier.acquire(HOST, "b", ttl=30)
        assert await frontier.renew([HOST], "b", ttl=30) == {HOST}  # b holds nothing
        assert await frontier.renew([HOST], "a", ttl=30) == set()
        await frontier.release(HOST, "b", gap=0)  # not b's to give up
        assert not await frontier.acquire(HOST, "b", ttl=30)
        await frontier.release(HOST, "a", gap=0)
        assert await frontier.acquire(HOST, "b", ttl=30)

    run(redis_server.url, scenario)


def test_a_task_is_completed_once_by_the_node_that_holds_it(redis_server: RedisServer) -> None:
    async def scenario(frontier: Frontier) -> None:
        run_id = await frontier.start_run()
        await frontier.add_tasks([(HOST, feed_task(run_id))])
        assert await frontier.hosts_with_work(10) == [HOST]
        [(host, entry_id, fields)] = await frontier.read_tasks({HOST: 5}, "a")
        assert messages.decode_task(fields[b"task"]).url == f"https://{HOST}/rss"
        entry = Entry(feed_url=f"https://{HOST}/rss", link="https://other.example/1")
        article = messages.encode_task(
            Task(messages.ARTICLE, "https://other.example/1", run_id, entry=entry)
        )
        follow = [
            ("https://other.example/1", "other.example", article),
            ("https://other.example/1", "other.example", article),  # listed twice
        ]
        assert not await frontier.complete(host, entry_id, "b", run_id, encoded_result(), follow)
        assert await frontier.complete(host, entry_id, "a", run_id, encoded_result(), follow)
        assert not await frontier.complete(host, entry_id, "a", run_id, encoded_result(), follow)
        [(_id, published)] = await frontier.read_results(10, block_ms=None)
        assert published[b"seen"] == b"1"  # the second listing: a sighting, not a second task
        assert await frontier.hosts_with_work(10) == ["other.example"]
        assert await frontier.open_tasks() == 1
        assert len(await frontier.read_tasks({"other.example": 5}, "a")) == 1

    run(redis_server.url, scenario)


def test_a_vanished_node_s_tasks_are_taken_over_with_their_deliveries_counted(
    redis_server: RedisServer,
) -> None:
    async def scenario(frontier: Frontier) -> list[int]:
        run_id = await frontier.start_run()
        await frontier.add_tasks(
            [(HOST, feed_task(run_id, f"https://{HOST}/{n}")) for n in range(3)]
        )
        assert await frontier.acquire(HOST, "a", ttl=0.2)
        taken = await frontier.read_tasks({HOST: 2}, "a")
        assert len(taken) == 2
        await asyncio.sleep(0.5)  # a's lease runs out: a is gone
        assert await frontier.acquire(HOST, "b", ttl=30)
        claimed = await frontier.claim_pending(HOST, "b")
        assert not await frontier.complete(HOST, taken[0][1], "a", run_id, encoded_result())
        assert await frontier.complete(HOST, taken[0][1], "b", run_id, encoded_result())
        assert len(await frontier.read_tasks({HOST: 5}, "b")) == 1  # the one a never took
        return [deliveries for _id, _fields, deliveries in claimed]

    assert run(redis_server.url, scenario) == [1, 1]


def test_a_node_that_gets_its_lease_back_does_not_take_its_own_tasks_again(
    redis_server: RedisServer,
) -> None:
    """Its lease lapsed (renewals failed through a Redis outage) while it was at two tasks: on
    getting the host back it claims nothing of its own (no second fetch, no delivery counted
    towards giving the task up), and still takes over what another node left."""

    async def scenario(frontier: Frontier) -> list[tuple[int, int]]:
        run_id = await frontier.start_run()
        await frontier.add_tasks(
            [(HOST, feed_task(run_id, f"https://{HOST}/{n}")) for n in range(3)]
        )
        assert await frontier.acquire(HOST, "a", ttl=30)
        mine = await frontier.read_tasks({HOST: 2}, "a")
        await frontier.redis.delete(frontier.lease_key(HOST))  # lapsed
        assert await frontier.acquire(HOST, "b", ttl=30)
        theirs = await frontier.read_tasks({HOST: 1}, "b")
        await frontier.redis.delete(frontier.lease_key(HOST))  # b is gone
        counts = []
        for _ in range(3):
            assert await frontier.acquire(HOST, "a", ttl=30)
            claimed = await frontier.claim_pending(HOST, "a")
            counts.append((len(claimed), max((d for _i, _f, d in claimed), default=0)))
            await frontier.redis.delete(frontier.lease_key(HOST))
        assert {entry for _h, entry, _f in mine} <= {
            entry["message_id"]
            for entry in await frontier.redis.xpending_range(
                frontier.tasks_key(HOST), "nodes", "-", "+", 10
            )
            if entry["times_delivered"] == 1
        }
        assert theirs
        return counts

    # b's task once (delivered to b, then to a), a's own never
    assert run(redis_server.url, scenario) == [(1, 1), (0, 0), (0, 0)]


def test_a_new_run_forgets_the_tasks_of_one_that_did_not_end(redis_server: RedisServer) -> None:
    async def scenario(frontier: Frontier) -> None:
        first = await frontier.start_run()
        await frontier.add_tasks([(HOST, feed_task(first))])
        second = await frontier.start_run()
        assert second == first + 1
        assert await frontier.current_run() == second
        assert await frontier.open_tasks() == 0
        await frontier.end_run(second)
        assert await frontier.current_run() is None

    run(redis_server.url, scenario)


def test_results_are_acknowledged_and_deleted_never_trimmed() -> None:
    async def scenario() -> None:
        frontier = Frontier(fakeredis.FakeAsyncRedis())
        await frontier.start_run()
        for n in range(3):
            await frontier.redis.xadd(
                frontier.key("results"), {"result": encoded_result(f"t{n}"), "seen": ""}
            )
        assert await frontier.results_backlog() == 3
        read = await frontier.read_results(2, block_ms=None)
        assert [messages.decode_result(fields[b"result"]).task for _id, fields in read] == [
            "t0",
            "t1",
        ]
        again = await frontier.read_results(10, block_ms=None, after=b"0")
        assert [entry_id for entry_id, _fields in again] == [entry_id for entry_id, _f in read]
        await frontier.ack_results([entry_id for entry_id, _fields in read])
        assert await frontier.results_backlog() == 1
        assert await frontier.read_results(10, block_ms=None, after=b"0") == []

    asyncio.run(scenario())


def test_the_known_set_belongs_to_one_database() -> None:
    async def scenario() -> None:
        frontier = Frontier(fakeredis.FakeAsyncRedis())
        assert await frontier.known_of() is None
        await frontier.add_known(["https://a.example/1"])
        await frontier.mark_known("/srv/news.db")
        assert await frontier.known_of() == "/srv/news.db"
        assert await frontier.is_known(["https://a.example/2", "https://a.example/1"])
        assert not await frontier.is_known(["https://a.example/2"])
        await frontier.drop_known()
        assert await frontier.known_of() is None
        assert not await frontier.is_known(["https://a.example/1"])

    asyncio.run(scenario())


def test_nodes_report_to_the_frontier() -> None:
    async def scenario() -> dict[str, Any]:
        frontier = Frontier(fakeredis.FakeAsyncRedis())
        await frontier.heartbeat("n1", {"tasks": 4, "last_seen": 1.5})
        await frontier.redis.hset(frontier.key("nodes"), "bad", "not json")
        return await frontier.nodes()

    assert asyncio.run(scenario()) == {"n1": {"tasks": 4, "last_seen": 1.5}}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:secret@10.0.0.5:6379/0", "redis://***@10.0.0.5:6379/0"),
        (
            "rediss://crawler:secret@redis.example.org:6380/0",
            "rediss://crawler:***@redis.example.org:6380/0",
        ),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_passwords_are_never_shown(url: str, shown: str) -> None:
    assert safe_url(url) == shown
    assert "secret" not in json.dumps(safe_url(url))


def test_a_password_protected_redis_is_reached_with_the_password_in_the_url(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path, password="s3cret")
    server.start()
    try:
        assert run(f"redis://:s3cret@127.0.0.1:{server.port}/0", lambda f: f.current_run()) is None
        with pytest.raises(AuthenticationError):
            run(server.url, lambda f: f.current_run())
    finally:
        server.kill()


def test_nodes_pause_while_the_writer_is_behind() -> None:
    async def scenario() -> tuple[bool, bool]:
        spider = NodeSpider()
        spider.frontier = frontier = Frontier(fakeredis.FakeAsyncRedis())
        spider.max_results = 2
        await frontier.start_run()
        await frontier.redis.hset(frontier.key("open"), HOST, 1)
        for n in range(2):
            await frontier.redis.xadd(frontier.key("results"), {"result": encoded_result(f"t{n}")})
        paused = await spider.step()
        return paused, bool(spider.leases)

    assert asyncio.run(scenario()) == (False, False)
