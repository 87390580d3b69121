"""Crawls of the mock site by a coordinator and nodes on a real Redis, against one process's crawl.

Each test starts its own ``redis-server`` (``tests/redisserver.py``), runs ``newsmon crawl
--redis`` and ``newsmon node`` as child processes, and compares the database with the session's
single-process crawl of the same feeds (``crawl`` in conftest.py).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import FAST, ROOT, WATCHLISTS, Crawl, run_newsmon
from tests.mockserver import MockServer, free_port
from tests.redisserver import RedisServer

WAIT_SECONDS = 240.0  # far beyond any of these crawls
STOP_SECONDS = 60.0  # a node must exit within NEWSMON_NODE_STOP_SECONDS (25 s): twice that


def content(db: Path, reread: bool = False) -> dict[str, Any]:
    """What a crawl stored, without times and ids: each feed entry's article, the feeds, the
    stories and the watchlist matches, articles named by their text where they have one.

    Which of two links to one text is stored as the article (the other as its sighting), which
    of two near-copies is the duplicate of the other, and which feed's entry gives a page listed
    by two feeds its summary, depend on which is read first, in one process as in several: the
    near-copies are compared as pairs, the summaries not at all. With ``reread``, the feeds were
    read twice (a run was cut short): the attempts of entries without a page to fetch and of
    links refused before the known pages are looked at, which count the reads, are not compared
    either (as after a single-process crawl that was cut short)."""
    with sqlite3.connect(db) as conn:
        names = dict(conn.execute("SELECT id, coalesce(text_hash, url) FROM articles"))
        pages = conn.execute(
            """
            SELECT f.url, e.guid, e.link, e.url, e.title, e.published,
                a.status, a.title, a.text, a.author, a.credits, a.language, a.canonical_url,
                a.http_status, a.attempts, a.text_hash, a.site_name, a.description,
                a.url LIKE 'urn:newsmon:entry:%' OR a.status LIKE 'refused:%'
            FROM entries e JOIN feeds f ON f.id = e.feed_id
            LEFT JOIN articles a ON a.id = e.article_id ORDER BY 1, 2, 3, 4
            """
        ).fetchall()
        feeds = conn.execute(
            """
            SELECT url, title, site_url, last_status, last_http_status, last_entries, etag,
                last_modified, body_hash, consecutive_failures
            FROM feeds ORDER BY url
            """
        ).fetchall()
        stories: dict[int, set[str]] = {}
        for story, article in conn.execute("SELECT story_id, id FROM articles WHERE story_id > 0"):
            stories.setdefault(story, set()).add(names[article])
        matches = conn.execute(
            "SELECT w.name, m.article_id FROM matches m JOIN watchlists w ON w.id = m.watchlist_id"
        ).fetchall()
        pairs = conn.execute("SELECT id, duplicate_of FROM articles WHERE duplicate_of > 0")
        near_duplicates = sorted(sorted([names[one], names[other]]) for one, other in pairs)
        (articles,) = conn.execute("SELECT count(*) FROM articles").fetchone()
        (searchable,) = conn.execute("SELECT count(*) FROM articles_search").fetchone()
    return {
        "pages": [
            (*row[:14], None if reread and row[-1] else row[14], *row[15:-1]) for row in pages
        ],
        "near_duplicates": near_duplicates,
        "feeds": feeds,
        "stories": sorted(sorted(each) for each in stories.values()),
        "matches": sorted((name, names[article]) for name, article in matches),
        "articles": articles,
        "searchable": searchable,
    }


def assert_same_content(db: Path, baseline: Path, reread: bool = False) -> None:
    got, expected = content(db, reread), content(baseline, reread)
    for part in expected:
        assert got[part] == expected[part], part


def new_db(tmp_path: Path) -> Path:
    db = tmp_path / "cluster" / "news.db"
    db.parent.mkdir()
    (db.parent / "watchlists.toml").write_text(WATCHLISTS, encoding="utf-8")
    return db


class Nodes:
    """``newsmon node`` processes, each logging to its own file."""

    def __init__(self, directory: Path, redis_url: str) -> None:
        self.directory = directory
        self.redis_url = redis_url
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *settings: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"node{len(self.processes)}.log").open("wb")
        command = [sys.executable, "-m", "pipeline", "node", "--redis", self.redis_url]
        command += ["--allow-private", "127.0.0.1", *FAST, *settings]
        # Elsewhere than the checkout: a node needs no feed list, settings or database.
        process = subprocess.Popen(
            command, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.processes.append(process)
        return process

    def stop_all(self) -> list[float]:
        """SIGTERM every node still running; how long each took to exit."""
        took = []
        for process in self.processes:
            if process.poll() is None:
                began = time.monotonic()
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                took.append(time.monotonic() - began)
        return took

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:]
            for path in sorted(self.directory.glob("node*.log"))
        )


@pytest.fixture
def nodes(tmp_path: Path, redis_server: RedisServer) -> Iterator[Nodes]:
    group = Nodes(tmp_path, redis_server.url)
    yield group
    group.stop_all()


@dataclass
class Cluster:
    """A Redis, nodes to start, a new database, and the single-process crawl to compare with."""

    baseline: Path  # the database of the session's single-process crawl
    feeds_file: Path
    redis: RedisServer
    nodes: Nodes
    db: Path  # the coordinator's, new


@pytest.fixture
def cluster(
    crawl: Crawl, feeds_file: Path, redis_server: RedisServer, nodes: Nodes, tmp_path: Path
) -> Cluster:
    return Cluster(crawl.db, feeds_file, redis_server, nodes, new_db(tmp_path))


def coordinator_command(db: Path, feeds_file: Path, redis_url: str, *settings: str) -> list[str]:
    return [
        "crawl",
        "--feeds", str(feeds_file),
        "--db", str(db),
        "--redis", redis_url,
        "--allow-private", "127.0.0.1",
        *FAST,
        "-s", "NEWSMON_REDIS_RETRY_SECONDS=120",
        *settings,
    ]  # fmt: skip


def start_coordinator(
    db: Path, feeds_file: Path, redis_url: str, *settings: str
) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pipeline"]
    command += coordinator_command(db, feeds_file, redis_url, *settings)
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _out, err = process.communicate(timeout=WAIT_SECONDS)
    return process.returncode, err


def tasks_held_by_nodes(client: redis.Redis) -> int:
    total = 0
    for key in client.scan_iter(match="newsmon:tasks:*"):
        summary: Any = client.xpending(key, "nodes")
        total += int(summary["pending"])
    return total


def stored_articles(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0


def test_three_nodes_store_what_one_process_stores(cluster: Cluster) -> None:
    for _ in range(3):
        cluster.nodes.start()
    db = cluster.db
    result = run_newsmon(
        *coordinator_command(db, cluster.feeds_file, cluster.redis.url), timeout=WAIT_SECONDS
    )
    assert result.returncode == 0, result.stderr[-3000:] + cluster.nodes.logs()
    assert_same_content(db, cluster.baseline)
    with sqlite3.connect(db) as conn:
        status, reported = conn.execute(
            "SELECT status, nodes FROM crawl_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert status == "partial"  # as the single-process crawl: one feed answers 500
    assert sum(figures["results"] for figures in eval_json(reported).values()) > 0
    took = cluster.nodes.stop_all()
    assert len(took) == 3
    assert all(seconds < STOP_SECONDS for seconds in took)
    status_out = run_newsmon("status", "--db", str(db), "--redis", cluster.redis.url)
    assert status_out.returncode == 0, status_out.stderr
    assert status_out.stdout.count(" stopped") == 3


def eval_json(text: str) -> dict[str, Any]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def test_a_killed_node_s_tasks_are_taken_over(cluster: Cluster) -> None:
    client = redis.Redis.from_url(cluster.redis.url)
    db = cluster.db
    coordinator = start_coordinator(db, cluster.feeds_file, cluster.redis.url)
    # A slow node takes tasks (a long delay between its requests) and is killed holding them.
    doomed = cluster.nodes.start("-s", "DOWNLOAD_DELAY=60", "-s", "NEWSMON_NODE_LEASE_SECONDS=3")
    wait_for(lambda: tasks_held_by_nodes(client) > 0, "the first node to take tasks")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    held = tasks_held_by_nodes(client)
    assert held > 0
    cluster.nodes.start()
    returncode, err = finish(coordinator)
    assert returncode == 0, err[-3000:] + cluster.nodes.logs()
    assert_same_content(db, cluster.baseline)  # nothing lost, nothing stored twice (attempts too)
    with sqlite3.connect(db) as conn:
        (reported,) = conn.execute("SELECT nodes FROM crawl_runs").fetchone()
    assert len(eval_json(reported)) == 1  # every result came from the second node


WRITER_DIES_AFTER_COMMIT = textwrap.dedent(
    """
    import os, sys
    from pipeline.cluster import coordinator

    acknowledge = coordinator.CoordinatorSpider.acknowledge

    async def die_before_acknowledging(self):
        # A batch with pages is committed: its results are not acknowledged, its pages not
        # added to the known ones.
        if self.ledger.to_ack and self.ledger.known:
            os._exit(9)
        await acknowledge(self)

    coordinator.CoordinatorSpider.acknowledge = die_before_acknowledging
    from pipeline.__main__ import main
    sys.argv = ["newsmon", *sys.argv[1:]]
    main()
    """
)


def test_the_writer_killed_between_commit_and_acknowledgement_stores_nothing_twice(
    cluster: Cluster,
) -> None:
    cluster.nodes.start()
    db = cluster.db
    command = [sys.executable, "-c", WRITER_DIES_AFTER_COMMIT]
    command += coordinator_command(db, cluster.feeds_file, cluster.redis.url)
    died = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False
    )
    assert died.returncode == 9, died.stderr[-3000:]
    assert stored_articles(db) > 0
    client = redis.Redis.from_url(cluster.redis.url)
    summary: Any = client.xpending("newsmon:results", "writer")
    assert summary["pending"] > 0  # stored, not acknowledged: delivered again below
    result = run_newsmon(
        *coordinator_command(db, cluster.feeds_file, cluster.redis.url), timeout=WAIT_SECONDS
    )
    assert result.returncode == 0, result.stderr[-3000:] + cluster.nodes.logs()
    assert_same_content(db, cluster.baseline, reread=True)
    with sqlite3.connect(db) as conn:
        (stats,) = conn.execute("SELECT stats FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    assert eval_json(stats)["newsmon/cluster/results_again"] > 0


def test_a_redis_restart_mid_run_is_waited_out(cluster: Cluster) -> None:
    db = cluster.db
    coordinator = start_coordinator(db, cluster.feeds_file, cluster.redis.url)
    cluster.nodes.start("-s", "DOWNLOAD_DELAY=0.5", "-s", "NEWSMON_REDIS_RETRY_SECONDS=120")
    wait_for(lambda: stored_articles(db) > 0, "the first articles to be stored")
    assert coordinator.poll() is None  # mid-run
    cluster.redis.shutdown_nosave()  # its append-only file is kept
    time.sleep(1)
    cluster.redis.start()
    returncode, err = finish(coordinator)
    assert returncode == 0, err[-3000:] + cluster.nodes.logs()
    assert_same_content(db, cluster.baseline)


def test_redis_unreachable_at_start_ends_the_crawl_with_one_line(
    feeds_file: Path, tmp_path: Path
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    db = new_db(tmp_path)
    result = run_newsmon(*coordinator_command(db, feeds_file, url), timeout=WAIT_SECONDS)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"newsmon: crawl did not complete: Redis unreachable at {url}")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM crawl_runs").fetchall() == [("failed",)]


def test_two_coordinators_on_one_database_the_second_waits_its_turn(
    feeds_file: Path,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    db = new_db(tmp_path)
    first = start_coordinator(db, feeds_file, redis_server.url)  # no node: it waits
    client = redis.Redis.from_url(redis_server.url)
    wait_for(lambda: bool(client.exists("newsmon:run")), "the first coordinator's run")
    second = run_newsmon(*coordinator_command(db, feeds_file, redis_server.url))
    assert second.returncode == 75, second.stderr[-2000:]
    assert "another crawl" in second.stderr or "lock" in second.stderr
    first.send_signal(signal.SIGTERM)
    returncode, _err = finish(first)
    assert returncode == 1  # interrupted: the next run completes it
    assert db.exists()


def test_a_node_stopped_mid_download_hands_its_host_back_and_exits_in_time(
    site: MockServer, redis_server: RedisServer, nodes: Nodes, tmp_path: Path
) -> None:
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text(site.url("fault/stall?seconds=600") + "\n")  # a feed that never ends
    db = new_db(tmp_path)
    coordinator = start_coordinator(db, feeds_file, redis_server.url)
    stuck = nodes.start(
        "-s", "DOWNLOAD_TIMEOUT=600", "-s", "NEWSMON_NODE_STOP_SECONDS=5",
    )  # fmt: skip
    client = redis.Redis.from_url(redis_server.url)
    wait_for(lambda: tasks_held_by_nodes(client) == 1, "the node to take the feed")
    began = time.monotonic()
    stuck.send_signal(signal.SIGTERM)
    stuck.wait(timeout=STOP_SECONDS)
    assert time.monotonic() - began < 30  # the bound; the node's own is 5 s here
    assert not list(client.scan_iter(match="newsmon:lease:*"))  # handed back at once
    assert client.hlen("newsmon:open") == 1  # the task waits for the next node
    coordinator.send_signal(signal.SIGTERM)
    assert finish(coordinator)[0] == 1


def held_by(client: redis.Redis, node: str) -> bool:
    """Whether a node whose name starts with ``node`` holds a task."""
    for key in client.scan_iter(match="newsmon:tasks:*"):
        pending: Any = client.xpending_range(key, "nodes", "-", "+", 10)
        if any(entry["consumer"].decode().startswith(node) for entry in pending):
            return True
    return False


def test_a_task_that_keeps_killing_nodes_is_given_up_with_its_reason(
    site: MockServer, redis_server: RedisServer, nodes: Nodes, tmp_path: Path
) -> None:
    feed = site.url("fault/stall?seconds=600")
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text(feed + "\n")
    db = new_db(tmp_path)
    coordinator = start_coordinator(db, feeds_file, redis_server.url)
    client = redis.Redis.from_url(redis_server.url)
    for n in range(3):  # three nodes take the feed in turn and die on it
        doomed = nodes.start(
            "-s", f"NEWSMON_NODE_NAME=doomed{n}", "-s", "NEWSMON_NODE_LEASE_SECONDS=1",
            "-s", "DOWNLOAD_TIMEOUT=600",
        )  # fmt: skip
        wait_for(partial(held_by, client, f"doomed{n}:"), f"node {n} to take it")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    nodes.start("-s", "NEWSMON_NODE_NAME=survivor")
    returncode, err = finish(coordinator)
    assert returncode == 69, err[-3000:]  # its only feed failed: "no feed could be reached"
    with sqlite3.connect(db) as conn:
        status, error = conn.execute(
            "SELECT last_status, last_error FROM feeds WHERE url = ?", (feed,)
        ).fetchone()
    assert status == "fetch_failed:node_lost"
    assert "given up after 3 deliveries" in error


def test_a_redis_that_lost_the_run_ends_it_with_one_line_and_the_next_run_completes_it(
    crawl: Crawl, feeds_file: Path, nodes: Nodes, tmp_path: Path
) -> None:
    directory = tmp_path / "volatile"
    directory.mkdir()
    server = RedisServer(directory, appendonly=False)  # no append-only file: a restart forgets
    server.start()
    try:
        nodes.redis_url = server.url
        db = new_db(tmp_path)
        coordinator = start_coordinator(db, feeds_file, server.url)
        nodes.start("-s", "DOWNLOAD_DELAY=0.5")
        wait_for(lambda: stored_articles(db) > 0, "the first articles to be stored")
        assert coordinator.poll() is None  # mid-run
        server.shutdown_nosave()
        server.start()
        returncode, err = finish(coordinator)
        assert returncode == 1
        assert (
            err.strip()
            .splitlines()[-1]
            .startswith(f"newsmon: crawl did not complete: Redis at {server.url} lost run 1")
        )
        result = run_newsmon(*coordinator_command(db, feeds_file, server.url), timeout=WAIT_SECONDS)
        assert result.returncode == 0, result.stderr[-3000:] + nodes.logs()
        # Not the same rows as one uninterrupted run: as after a single-process crawl cut short,
        # a sighting whose page was not stored yet is kept as an entry of its own (not_fetched).
        assert_nothing_lost_or_doubled(db, crawl.db)
    finally:
        nodes.stop_all()
        server.kill()


def assert_nothing_lost_or_doubled(db: Path, baseline: Path) -> None:
    """Every text the baseline stored is stored once, and every entry it saw is there."""

    def texts_and_entries(path: Path) -> tuple[list[str], set[tuple[str, str, str]]]:
        with sqlite3.connect(path) as conn:
            texts = [h for (h,) in conn.execute("SELECT text_hash FROM articles WHERE text > ''")]
            entries = set(
                conn.execute(
                    "SELECT f.url, coalesce(e.guid, ''), coalesce(e.link, '') "
                    "FROM entries e JOIN feeds f ON f.id = e.feed_id"
                )
            )
        return sorted(texts), entries

    texts, entries = texts_and_entries(db)
    expected_texts, expected_entries = texts_and_entries(baseline)
    assert texts == expected_texts
    assert entries == expected_entries


def test_a_batch_the_writer_cannot_store_ends_the_run_and_its_results_wait_in_redis(
    redis_server: RedisServer, feeds_file: Path, tmp_path: Path
) -> None:
    """The database refuses a batch (a full disk, here a trigger): the coordinator stops with
    exit 1 and one line, instead of waiting for ever with the crawl lock held, and what it had
    not stored stays in Redis for the next run."""
    from pipeline.cluster import messages
    from pipeline.db.connection import open_db
    from pipeline.items import FeedItem

    client = redis.Redis.from_url(redis_server.url)
    client.xgroup_create("newsmon:results", "writer", "0", mkstream=True)
    for number in range(250):
        item = FeedItem(f"https://h{number}.example/feed.xml", "ok", f"Feed {number}")
        result = messages.Result(f"task-{number}", 1, "node-a", "feed", [item])
        client.xadd("newsmon:results", {"result": messages.encode_result(result), "seen": ""})
    db = new_db(tmp_path)
    with open_db(db) as conn:
        conn.execute(
            "CREATE TRIGGER disk_full BEFORE INSERT ON feeds WHEN NEW.url = "
            "'https://h150.example/feed.xml' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    coordinator = start_coordinator(db, feeds_file, redis_server.url)
    returncode, err = finish(coordinator)
    assert returncode == 1, err[-3000:]
    assert "database errors" in err and "disk full" in err
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM feeds WHERE url LIKE 'https://h%'").fetchone()
    assert stored == (100,)  # the first batch; the second was refused
    summary: Any = client.xpending("newsmon:results", "writer")
    unread = client.xinfo_groups("newsmon:results")[0]["lag"]
    assert summary["pending"] + unread == 150  # not acknowledged: the next run stores them
