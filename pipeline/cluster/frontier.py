"""The shared frontier on Redis: tasks sharded by host, host leases, results, known articles.

Keys (``<p>`` is ``NEWSMON_REDIS_PREFIX``):

- ``<p>:run`` (hash): the run being crawled (``id``, ``token``, ``started_at``); absent between
  runs.
- ``<p>:runseq``: the last run number handed out.
- ``<p>:tasks:<host>`` (stream, consumer group ``nodes``): the requests to make on one host.
- ``<p>:open`` (hash): per host, how many of its tasks are not done yet; the run is over when
  it is empty. Changed only by the scripts below, in the same step as the streams.
- ``<p>:lease:<host>``: the node serving the host, with an expiry renewed while it works.
- ``<p>:requested:<run>`` (set): the pages requested in a run, so that a page listed by two
  feeds is fetched once.
- ``<p>:results`` (stream, consumer group ``writer``): what the nodes made of their tasks,
  acknowledged and deleted by the writer once stored. Never trimmed: nodes pause instead.
- ``<p>:known`` (set) and ``<p>:known:db``: the pages the writer stored and will not fetch
  again, and the database they are from; rebuilt from SQLite when Redis has lost them or they
  are another database's (one prefix per database).
- ``<p>:nodes`` (hash): per node, its last heartbeat (JSON).

Only one instance of Redis is supported (no Redis Cluster: the scripts build key names).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)  # Redis cannot be reached

TASK_GROUP = "nodes"
RESULT_GROUP = "writer"
WRITER = "writer"  # the writer's consumer name: one writer per database (the lock)

# Adds a task to its host's stream, creating the stream and its group on first use.
ADD_TASK = """
local stream = ARGV[1] .. ':tasks:' .. ARGV[2]
redis.pcall('XGROUP', 'CREATE', stream, 'nodes', '0', 'MKSTREAM')
redis.call('XADD', stream, '*', 'task', ARGV[3])
redis.call('HINCRBY', ARGV[1] .. ':open', ARGV[2], 1)
return 1
"""

# Completes a task in one step, if the calling node still holds it: publishes its result, adds
# a task for each page to follow that was not requested in this run yet (the others are listed
# in the result's "seen" field), acknowledges and deletes the task, and counts it done.
COMPLETE_TASK = """
local p, host, id, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local stream = p .. ':tasks:' .. host
local ok, pending = pcall(redis.call, 'XPENDING', stream, 'nodes', id, id, 1)
if not ok or #pending == 0 or pending[1][2] ~= node then
    return 0
end
local seen = {}
local count = tonumber(ARGV[7])
for i = 0, count - 1 do
    local url, target, task = ARGV[8 + 3 * i], ARGV[9 + 3 * i], ARGV[10 + 3 * i]
    if redis.call('SADD', ARGV[6], url) == 1 then
        local other = p .. ':tasks:' .. target
        redis.pcall('XGROUP', 'CREATE', other, 'nodes', '0', 'MKSTREAM')
        redis.call('XADD', other, '*', 'task', task)
        redis.call('HINCRBY', p .. ':open', target, 1)
    else
        table.insert(seen, tostring(i))
    end
end
redis.call('XADD', p .. ':results', '*', 'result', ARGV[5], 'seen', table.concat(seen, ','))
redis.call('XACK', stream, 'nodes', id)
redis.call('XDEL', stream, id)
if redis.call('HINCRBY', p .. ':open', host, -1) <= 0 then
    redis.call('HDEL', p .. ':open', host)
end
return 1
"""

# Keeps a lease for another ARGV[2] ms if ARGV[1] still holds it.
RENEW_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Gives a lease up, keeping it ARGV[2] ms more (0: none) so that the next node does not send
# its first request on the heels of this node's last.
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    if tonumber(ARGV[2]) > 0 then
        return redis.call('PEXPIRE', KEYS[1], ARGV[2])
    end
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def connect(url: str) -> aioredis.Redis:
    """An asyncio Redis client for ``url`` (``redis://``, ``rediss://`` for TLS, with a user
    and password for ACLs, or ``unix://``)."""
    return aioredis.Redis.from_url(
        url,
        decode_responses=False,
        socket_connect_timeout=5,
        socket_timeout=30,
    )


def safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        rest = f"{user}:***@{host}" if user else f"***@{host}"
    return f"{scheme}{sep}{rest}"


class Frontier:
    """The Redis operations of the coordinator and the nodes, on one client."""

    def __init__(self, client: aioredis.Redis, prefix: str = "newsmon") -> None:
        self.redis = client
        self.prefix = prefix
        self._add_task = client.register_script(ADD_TASK)
        self._complete = client.register_script(COMPLETE_TASK)
        self._renew = client.register_script(RENEW_LEASE)
        self._release = client.register_script(RELEASE_LEASE)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Frontier:
        """The frontier on a new client of the Redis at ``NEWSMON_REDIS_URL``, under
        ``NEWSMON_REDIS_PREFIX``."""
        return cls(connect(settings.get("NEWSMON_REDIS_URL")), settings.get("NEWSMON_REDIS_PREFIX"))

    # Key names ---------------------------------------------------------------------------
    def key(self, *parts: str | int) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    def tasks_key(self, host: str) -> str:
        return self.key("tasks", host)

    def lease_key(self, host: str) -> str:
        return self.key("lease", host)

    # Runs ----------------------------------------------------------------------------------
    async def start_run(self) -> int:
        """Forget the tasks of an earlier run that did not end (their feeds are read again),
        keep its unstored results, and start a new run; return its number."""
        await self.drop_tasks()
        try:
            await self.redis.xgroup_create(self.key("results"), RESULT_GROUP, "0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        run = int(await self.redis.incr(self.key("runseq")))
        # The token tells runs apart even when a Redis that lost everything counts from 1 again.
        token = uuid.uuid4().hex
        await self.redis.hset(
            self.key("run"), mapping={"id": run, "token": token, "started_at": f"{time.time():.3f}"}
        )
        return run

    async def drop_tasks(self) -> None:
        stale = [key async for key in self.redis.scan_iter(match=self.key("tasks", "*"))]
        stale += [key async for key in self.redis.scan_iter(match=self.key("requested", "*"))]
        if stale:
            await self.redis.delete(*stale)
        await self.redis.delete(self.key("open"))

    async def current_run(self) -> int | None:
        value = await self.redis.hget(self.key("run"), "id")
        return int(value) if value is not None else None

    async def run_and_token(self) -> tuple[int | None, str | None]:
        """The current run's number and token (None, None between runs)."""
        reply: Any = await self.redis.hmget(self.key("run"), ["id", "token"])
        run, token = reply
        if run is None or token is None:
            return None, None
        return int(run), token.decode()

    async def end_run(self, run: int) -> None:
        if await self.current_run() == run:
            await self.redis.delete(self.key("run"), self.key("requested", run))

    async def open_tasks(self) -> int:
        return int(await self.redis.hlen(self.key("open")))

    async def add_tasks(self, tasks: Iterable[tuple[str, str]]) -> None:
        """Add tasks, given as (host, encoded task), in one round trip per hundred."""
        batch: list[tuple[str, str]] = []
        for task in tasks:
            batch.append(task)
            if len(batch) >= 100:
                await self._add_batch(batch)
                batch = []
        if batch:
            await self._add_batch(batch)

    async def _add_batch(self, batch: Sequence[tuple[str, str]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for host, task in batch:
                await self._add_task(args=[self.prefix, host, task], client=pipe)
            await pipe.execute()

    # Known articles --------------------------------------------------------------------------
    async def known_of(self) -> str | None:
        """Which database the known set was built from (None: it was lost, or never built)."""
        value = await self.redis.get(self.key("known", "db"))
        return value.decode() if isinstance(value, bytes) else value

    async def drop_known(self) -> None:
        await self.redis.delete(self.key("known"), self.key("known", "db"))

    async def add_known(self, urls: Iterable[str]) -> None:
        batch = list(urls)
        for start in range(0, len(batch), 1000):
            await self.redis.sadd(self.key("known"), *batch[start : start + 1000])

    async def mark_known(self, database: str) -> None:
        await self.redis.set(self.key("known", "db"), database)

    async def is_known(self, urls: Sequence[str]) -> bool:
        if not urls:
            return False
        found = await self.redis.smismember(self.key("known"), list(urls))
        return any(found)

    # Results (the writer) --------------------------------------------------------------------
    async def read_results(
        self, count: int, block_ms: int | None, after: bytes | None = None
    ) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """New results; or, given ``after`` (an entry id, or b"0" from the first), the results
        read before and not acknowledged."""
        reply: Any = await self.redis.xreadgroup(
            RESULT_GROUP,
            WRITER,
            {self.key("results"): after if after is not None else ">"},
            count=count,
            block=None if after is not None else block_ms,
        )
        if not reply:
            return []
        return [(entry_id, fields) for entry_id, fields in reply[0][1]]

    async def ack_results(self, ids: Sequence[bytes | str]) -> None:
        if not ids:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.key("results"), RESULT_GROUP, *ids)
            pipe.xdel(self.key("results"), *ids)
            await pipe.execute()

    async def results_backlog(self) -> int:
        return int(await self.redis.xlen(self.key("results")))

    # Hosts and tasks (the nodes) -------------------------------------------------------------
    async def hosts_with_work(self, count: int) -> list[str]:
        hosts: Any = await self.redis.hrandfield(self.key("open"), count)
        return [host.decode() for host in hosts or []]

    async def acquire(self, host: str, node: str, ttl: float) -> bool:
        return bool(await self.redis.set(self.lease_key(host), node, nx=True, px=int(ttl * 1000)))

    async def renew(self, hosts: Iterable[str], node: str, ttl: float) -> set[str]:
        """Renew the node's leases; return the hosts whose lease it has lost."""
        hosts = list(hosts)
        async with self.redis.pipeline(transaction=False) as pipe:
            for host in hosts:
                await self._renew(
                    keys=[self.lease_key(host)], args=[node, int(ttl * 1000)], client=pipe
                )
            replies = await pipe.execute()
        return {host for host, kept in zip(hosts, replies, strict=True) if not kept}

    async def release(self, host: str, node: str, gap: float) -> None:
        await self._release(keys=[self.lease_key(host)], args=[node, int(gap * 1000)])

    async def claim_pending(
        self, host: str, node: str
    ) -> list[tuple[bytes, dict[bytes, bytes], int]]:
        """Take over every task of the host that another node took and did not finish (the
        caller holds the host's lease, so that node is gone or has lost it): (entry id, fields,
        deliveries so far). The node's own are left alone: it is still at them (it had lost the
        lease for a while and got it back), and claiming them again would fetch them twice and
        count a delivery each time, up to giving them up."""
        stream = self.tasks_key(host)
        try:
            pending = await self.redis.xpending_range(stream, TASK_GROUP, "-", "+", 1000)
        except ResponseError:  # no such stream or group: nothing to claim
            return []
        deliveries = {
            entry["message_id"]: int(entry["times_delivered"])
            for entry in pending
            if entry["consumer"] != node.encode()  # the client's replies are bytes
        }
        claimed: list[tuple[bytes, dict[bytes, bytes], int]] = []
        ids: list[Any] = list(deliveries)
        for start in range(0, len(ids), 100):
            entries: Any = await self.redis.xclaim(
                stream, TASK_GROUP, node, 0, ids[start : start + 100]
            )
            for entry_id, fields in entries:
                if fields:
                    claimed.append((entry_id, fields, deliveries[entry_id]))
        return claimed

    async def read_tasks(
        self, wanted: Mapping[str, int], node: str
    ) -> list[tuple[str, bytes, dict[bytes, bytes]]]:
        """Up to ``wanted[host]`` new tasks of each host: (host, entry id, fields)."""
        if not wanted:
            return []
        tasks: list[tuple[str, bytes, dict[bytes, bytes]]] = []
        for host, count in wanted.items():
            try:
                reply: Any = await self.redis.xreadgroup(
                    TASK_GROUP, node, {self.tasks_key(host): ">"}, count=count
                )
            except ResponseError as exc:
                if "NOGROUP" in str(exc):
                    continue
                raise
            for _stream, entries in reply or []:
                tasks.extend((host, entry_id, fields) for entry_id, fields in entries if fields)
        return tasks

    async def complete(
        self,
        host: str,
        entry_id: bytes | str,
        node: str,
        run: int,
        result: str,
        follow: Sequence[tuple[str, str, str]] = (),
    ) -> bool:
        """Publish a task's result, add the tasks to follow (normalised URL, host, encoded
        task), acknowledge the task: all at once, and only if ``node`` still holds the task."""
        args: list[Any] = [
            self.prefix,
            host,
            entry_id,
            node,
            result,
            self.key("requested", run),
            len(follow),
        ]
        for url, target, task in follow:
            args += [url, target, task]
        return bool(await self._complete(args=args))

    # Nodes ---------------------------------------------------------------------------------
    async def heartbeat(self, node: str, figures: Mapping[str, Any]) -> None:
        await self.redis.hset(self.key("nodes"), node, json.dumps(figures))

    async def nodes(self) -> dict[str, dict[str, Any]]:
        raw: Any = await self.redis.hgetall(self.key("nodes"))
        found = {}
        for name, value in raw.items():
            try:
                figures = json.loads(value)
            except ValueError:
                continue
            if isinstance(figures, dict):
                found[name.decode()] = figures
        return found


class Backoff:
    """Waits between attempts to reach Redis: doubling from ``first`` up to ``longest``."""

    def __init__(self, first: float = 0.25, longest: float = 8.0) -> None:
        self.first = first
        self.longest = longest
        self.failing_since: float | None = None
        self._next = first

    def reset(self) -> None:
        self.failing_since = None
        self._next = self.first

    def wait(self) -> float:
        """How long to wait before the next attempt; notes when the failures began."""
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        wait, self._next = self._next, min(self._next * 2, self.longest)
        return wait

    def failing_for(self) -> float:
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since


async def retrying(operation: Callable[[], Awaitable[T]], seconds: float) -> T:
    """``operation``, tried again with a back-off while Redis cannot be reached; once it has
    failed for ``seconds``, its last error (one of ``REDIS_ERRORS``) is raised."""
    backoff = Backoff()
    while True:
        try:
            return await operation()
        except REDIS_ERRORS as exc:
            if backoff.failing_for() >= seconds:
                raise
            wait = backoff.wait()
            logger.warning("Redis: %s; trying again in %.1f s", exc, wait)
            await asyncio.sleep(wait)
