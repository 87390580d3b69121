"""Crawl benchmark: end-to-end articles per second against trafilatura alone on the same pages.

By default it crawls the demo site (``tests/mockserver/site``, a handful of pages: a smoke test).
For real figures give it a larger news web on loopback, e.g. the newsroom simulator's OPML:

    make bench FEEDS=/tmp/nr/feeds.opml ALLOW=127.0.0.0/8

Politeness (per-host delay and concurrency) is relaxed for the benchmark because every host is
on loopback; the output says so. Real crawls keep the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from pipeline.demo import demo_site, write_feed_list

CHECKOUT = Path(__file__).resolve().parent.parent
BENCH_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "64",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "LOG_LEVEL": "WARNING",
}


def run_crawl(
    feeds: Path, db: Path, allow: list[str], workers: int, extra: list[str] | None = None
) -> dict[str, Any]:
    command = [sys.executable, "-m", "pipeline", "crawl", "--feeds", str(feeds), "--db", str(db)]
    for network in allow:
        command += ["--allow-private", network]
    settings = {**BENCH_SETTINGS, "NEWSMON_EXTRACT_WORKERS": str(workers)}
    settings.update(pair.partition("=")[::2] for pair in extra or ())
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            command, cwd=CHECKOUT, stdout=subprocess.DEVNULL, stderr=stderr, text=True
        )
        memory = TreeMemory(process.pid)
        while process.poll() is None:
            memory.sample()
            time.sleep(0.2)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic() - started
        if process.returncode != 0:
            stderr.seek(0)
            sys.exit(f"crawl failed ({process.returncode}): {stderr.read()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "cpu_utilisation": cpu / (wall * (os.cpu_count() or 1)),
        "peak_rss_all_processes_mb": memory.peak_mb,
        "rss_all_processes_mb_by_tenth_of_run": memory.by_tenth(),
        "largest_process_max_rss_mb": after.ru_maxrss / 1024,
        "cpu_seconds_by_process": memory.cpu_by_name(),
        "memory": memory,
    }


class TreeMemory:
    """Resident memory of a process and all its descendants together, sampled over a run."""

    PAGE = os.sysconf("SC_PAGE_SIZE")

    TICKS = os.sysconf("SC_CLK_TCK")

    def __init__(self, root: int) -> None:
        self.root = root
        self.samples: list[float] = []
        self.times: list[float] = []  # Unix time of each sample
        self.cpu: dict[int, float] = {}  # last seen CPU seconds of each process of the tree
        self.names: dict[int, str] = {}

    def sample(self) -> None:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        names: dict[int, str] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                head, _, tail = stat.read_text().rpartition(")")
            except OSError:
                continue  # the process is gone
            fields = tail.split()
            pid = int(stat.parent.name)
            parents[pid] = int(fields[1])
            cpu[pid] = (int(fields[11]) + int(fields[12])) / self.TICKS
            names[pid] = head.partition("(")[2]
        tree, frontier = {self.root}, [self.root]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            tree.update(children)
            frontier.extend(children)
        self.cpu.update({pid: cpu[pid] for pid in tree if pid in cpu})
        self.names.update({pid: names[pid] for pid in tree if pid in names})
        total = 0
        for pid in tree:
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self.PAGE
            except (OSError, IndexError):
                continue
        self.samples.append(total / 1024 / 1024)
        self.times.append(time.time())

    def cpu_by_name(self) -> dict[str, dict[str, float]]:
        """CPU seconds and process count per kind: the crawl itself, then each worker pool."""
        kinds: dict[str, dict[str, float]] = {}
        for pid, seconds in self.cpu.items():
            name = "crawl" if pid == self.root else self.names.get(pid, "other")
            kind = kinds.setdefault(name, {"cpu_seconds": 0.0, "processes": 0})
            kind["cpu_seconds"] = round(kind["cpu_seconds"] + seconds, 2)
            kind["processes"] += 1
        return kinds

    @property
    def peak_mb(self) -> float:
        return max(self.samples, default=0.0)

    def peak_mb_after(self, moment: float) -> float | None:
        """The peak of the samples taken after ``moment`` (Unix time), if any."""
        after = [mb for at, mb in zip(self.times, self.samples, strict=True) if at > moment]
        return round(max(after), 1) if after else None

    def by_tenth(self) -> list[float]:
        """The largest sample in each tenth of the run: a growth trend shows as a slope."""
        if not self.samples:
            return []
        size = max(1, len(self.samples) // 10)
        return [round(max(self.samples[i : i + size])) for i in range(0, len(self.samples), size)]


def crawl_figures(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("select count(*) from articles where status = 'ok'").fetchone()
        (stats_json,) = conn.execute("select stats from crawl_runs order by id desc").fetchone()
        urls = [u for (u,) in conn.execute("select url from articles where status = 'ok'")]
    stats = json.loads(stats_json)
    return {
        "articles_with_text": stored,
        "urls": urls,
        "reactor_max_lag_ms": stats.get("newsmon/reactor/max_lag_ms"),
        "reactor_stalls_over_100ms": stats.get("newsmon/reactor/stalls_over_100ms"),
        "garbage_collection_seconds": stats.get("newsmon/gc/seconds"),
        "full_garbage_collections": stats.get("newsmon/gc/collections/generation_2"),
        "page_phase_seconds": page_phase(stats),
        # After the page phase: the stories of its unique articles (pipeline/pipelines/story_phase.py).
        "stories_phase_seconds": stats.get("newsmon/stories/phase_seconds"),
        "stories_decided": stats.get("newsmon/stories/decided"),
        "page_phase_ended_at": stats.get("newsmon/pages/last_at"),
    }


def page_phase(stats: dict[str, Any]) -> float | None:
    first, last = stats.get("newsmon/pages/first_at"), stats.get("newsmon/pages/last_at")
    return float(last) - float(first) if first and last else None


def baseline(urls: list[str]) -> dict[str, Any]:
    """Plain ``trafilatura.extract`` with default options, one process, on the same pages."""
    import trafilatura

    pages = []
    for url in urls:
        with urllib.request.urlopen(url, timeout=30) as response:  # loopback only: crawled URLs
            charset = response.headers.get_content_charset() or "utf-8"
            pages.append(response.read().decode(charset, errors="replace"))
    started = time.process_time()
    for html in pages:
        trafilatura.extract(html)
    cpu = time.process_time() - started
    return {
        "pages": len(pages),
        "cpu_seconds": cpu,
        "pages_per_second": len(pages) / cpu if cpu else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--feeds", type=Path, help="feed list (OPML or URLs); default: the demo site"
    )
    parser.add_argument("--allow-private", action="append", default=[], metavar="NET")
    parser.add_argument(
        "--workers", type=int, default=0, help="extraction processes (0: one per core)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a crawl setting"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="newsmon-bench-")))
        feeds, allow = args.feeds, args.allow_private
        if feeds is None:
            feeds = write_feed_list(stack.enter_context(demo_site()), tmp)
            allow = ["127.0.0.1/32"]
        run = run_crawl(feeds, tmp / "bench.db", allow, args.workers, args.set)
        figures = crawl_figures(tmp / "bench.db")
        memory = run.pop("memory")
        ended = figures.pop("page_phase_ended_at")
        run["peak_rss_after_page_phase_mb"] = memory.peak_mb_after(ended) if ended else None
        base = baseline(figures.pop("urls"))
    stored = figures["articles_with_text"]
    phase = figures["page_phase_seconds"] or run["wall_seconds"]
    rate = stored / phase if phase else 0.0
    report = {
        "cores": os.cpu_count(),
        "politeness": "relaxed for loopback: "
        + ", ".join(f"{k}={v}" for k, v in BENCH_SETTINGS.items()),
        "crawl": {**run, **figures, "articles_per_second_page_phase": rate},
        "baseline_trafilatura": base,
        "ratio_to_baseline": rate / base["pages_per_second"] if base["pages_per_second"] else None,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
