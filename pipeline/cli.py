"""The ``newsmon`` command line: a thin click layer over ``pipeline.api``."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline import __version__, api, statuses
from pipeline.exceptions import CrawlLocked, DatabaseError, FeedListError, NewsmonError
from pipeline.net.failures import ALLOW_PRIVATE_HINT
from pipeline.parsing.feed_lists import FeedSource

# Exit codes of newsmon crawl (docs/operations.md); 2 is a command-line error (click's).
EX_INCOMPLETE = 1  # the run could not finish, or could not store what it found
EX_UNAVAILABLE = 69  # sysexits.h: no feed could be reached (offline, or every feed failing)
EX_TEMPFAIL = 75  # sysexits.h: try again later (another crawl holds the database)

DEFAULT_DB = "data/news.db"

db_option = click.option(
    "--db",
    "db_path",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite database file.",
)
settings_option = click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="A Scrapy setting, as with 'scrapy crawl -s'. Repeatable.",
)

allow_private_option = click.option(
    "--allow-private",
    multiple=True,
    metavar="NET",
    help="Allow connections to this non-public address or network (CIDR). Repeatable.",
)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def parse_overrides(overrides: Iterable[str]) -> dict[str, str]:
    """``-s NAME=VALUE`` options as a mapping."""
    settings = {}
    for override in overrides:
        name, sep, value = override.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {override!r}", param_hint="-s")
        settings[name.strip()] = value
    return settings


def redis_option(help_text: str, required: bool = False) -> Callable[[F], F]:
    """``--redis URL``: redis://[user:password@]host:port/db, or rediss:// for TLS."""
    return click.option("--redis", "redis_url", metavar="URL", required=required, help=help_text)


@contextmanager
def reported(*also: type[Exception]) -> Iterator[None]:
    """Errors a user can act on (and ``also`` these) end the command with one line, not a
    traceback."""
    caught: tuple[type[Exception], ...] = (NewsmonError, DatabaseError, FeedListError, *also)
    try:
        yield
    except caught as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def reported_or_locked() -> Iterator[None]:
    """As ``reported``, and exit 75 with one line when another run holds the database."""
    try:
        with reported():
            yield
    except CrawlLocked as exc:
        click.echo(f"newsmon: {exc}", err=True)
        sys.exit(EX_TEMPFAIL)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsmon")
def cli() -> None:
    """Monitor news feeds into one searchable SQLite database.

    \b
    Example:
        newsmon crawl --feeds feeds.opml --db data/news.db
        newsmon serve --db data/news.db
    """


@cli.command()
@click.option(
    "--feeds",
    "feeds_file",
    type=click.Path(dir_okay=False),
    help="Feed list: OPML 2.0 or one URL per line. Default: the feeds stored in the database.",
)
@db_option
@allow_private_option
@settings_option
@click.option(
    "--watchlists",
    "watchlists_file",
    type=click.Path(dir_okay=False),
    help="Watchlists file (TOML) to match new articles against. Default: watchlists.toml "
    "beside the database, if there is one.",
)
@click.option(
    "--on-matches",
    metavar="COMMAND",
    help="Run COMMAND after the crawl if it found new watchlist matches, with them as a JSON "
    'list on its standard input (e.g. "curl -d @- https://hooks.example.org/news").',
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False),
    help="Where the crawl log goes. Default: newsmon.log beside the database. On a terminal "
    "the crawl shows a progress line and a summary instead.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Fetch every feed now, also those backing off after failures or fetched too recently.",
)
@redis_option(
    "Coordinate a crawl on several machines through this Redis: 'newsmon node' processes fetch, "
    "this one stores (docs/cluster.md)."
)
def crawl(
    feeds_file: str | None,
    db_path: str,
    allow_private: tuple[str, ...],
    overrides: tuple[str, ...],
    watchlists_file: str | None,
    on_matches: str | None,
    log_file: str | None,
    force: bool,
    redis_url: str | None,
) -> None:
    """Fetch the feeds and their new articles into the database.

    Feeds are fetched with conditional GET and known articles are never downloaded again, so
    a run in which nothing changed costs little. A feed that fails is skipped by the next runs
    for a while (a back-off that doubles with each failure): --force fetches it now. New
    articles are matched against the watchlists (see 'newsmon watch').

    Failing feeds and articles are recorded with the reason, not fatal. Exit codes: 0 the run
    completed (some feeds may have failed: see 'newsmon status'); 1 it could not complete or
    store what it found; 2 a command-line error; 69 no feed could be reached (is this
    machine online?); 75 another crawl holds the database.

    \b
    Example:
        newsmon crawl --feeds feeds.opml --db data/news.db
        newsmon crawl --feeds feeds.txt --allow-private 127.0.0.0/8 -s DOWNLOAD_DELAY=0
        newsmon crawl --db data/news.db --force
    """
    if feeds_file and "://" in feeds_file:
        raise click.BadParameter(
            f"{feeds_file} is an address, not a file: add the feed with 'newsmon feeds add "
            f"{feeds_file} --db {db_path}', or list addresses in a file, one per line",
            param_hint="--feeds",
        )
    interactive = sys.stderr.isatty()
    settings = logging_settings(db_path, log_file, interactive)
    settings.update(parse_overrides(overrides))
    if on_matches:
        settings["NEWSMON_ON_MATCHES"] = on_matches
    if force:
        settings["NEWSMON_FORCE"] = "True"
    if redis_url:
        settings["NEWSMON_REDIS_URL"] = redis_url
    result = completed_run(
        "crawl",
        db_path,
        lambda: api.crawl(db_path, feeds_file, allow_private, settings, watchlists_file),
    )
    with reported():
        summary = api.crawl_summary(db_path, result)
    if interactive:
        for line in summary_lines(summary, db_path, settings["LOG_FILE"]):
            click.echo(line, err=True)
    if summary.none_reachable:
        click.echo(f"newsmon: {unreachable_line(summary)}", err=True)
        sys.exit(EX_UNAVAILABLE)


def completed_run(what: str, db_path: str, run: Callable[[], api.CrawlResult]) -> api.CrawlResult:
    """Run a crawl or a backfill; exit 75 when another run holds the database, 1 when it did not
    complete (with the first database error, if that was why)."""
    with reported_or_locked():
        result = run()
    if not result.completed:
        reason = result.finish_reason
        if result.stats.get("newsmon/db_errors"):
            first = result.stats.get("newsmon/db_error", "")
            reason = f"database errors in {db_path}: {first} (see the log)"
        click.echo(f"newsmon: {what} did not complete: {reason}", err=True)
        sys.exit(EX_INCOMPLETE)
    return result


@cli.command()
@db_option
@click.option("--site", required=True, help="The site: its robots.txt names its sitemaps.")
@click.option(
    "--since", required=True, metavar="DAY", help="First day: 2026-10-01, or a month: 2026-10."
)
@click.option("--until", metavar="DAY", help="Last day, included (a month: its last day).")
@click.option(
    "--max-pages", default=0, show_default=True, help="Most pages to request; 0: no limit."
)
@allow_private_option
@settings_option
@click.option("--log-file", type=click.Path(dir_okay=False), help="As for crawl.")
def backfill(
    db_path: str,
    site: str,
    since: str,
    until: str | None,
    max_pages: int,
    allow_private: tuple[str, ...],
    overrides: tuple[str, ...],
    log_file: str | None,
) -> None:
    """Store a site's pages of a range of days, found in its sitemaps.

    The sitemaps come from the site's robots.txt (else /sitemap_index.xml, /sitemap.xml,
    /news-sitemap.xml); indexes are walked, nested and gzipped. A page is kept when its news
    publication date, else its lastmod, falls in the range; it is fetched, extracted,
    deduplicated and stored as a crawl would, politely, and a page stored already is never
    requested again. Exit codes as for crawl; 69: no sitemap could be read.

    \b
    Example:
        newsmon backfill --db data/news.db --site https://example.kz/ --since 2026-10-01 --until 2026-10-31
        newsmon backfill --db data/news.db --site https://example.kz/ --since 2026-10 --max-pages 500
    """
    interactive = sys.stderr.isatty()
    settings = logging_settings(db_path, log_file, interactive)
    settings.update(parse_overrides(overrides))
    result = completed_run(
        "backfill",
        db_path,
        lambda: api.backfill(db_path, site, since, until, max_pages, allow_private, settings),
    )
    summary = api.backfill_summary(result)
    minutes, seconds = divmod(round(summary.seconds), 60)
    over = (
        f" ({summary.pages_over_limit} left over: --max-pages)" if summary.pages_over_limit else ""
    )
    click.echo(
        f"Backfill finished in {minutes}:{seconds:02d}: {counted(summary.sitemaps_read, 'sitemap')} read "
        f"({summary.sitemaps_failed} failed or refused), {summary.pages_in_range} pages in the "
        f"range{over}; articles {summary.articles_new} new ({summary.articles_with_text} with "
        f"text), {summary.articles_known} known, {summary.articles_failed} failed",
        err=True,
    )
    if not summary.sitemaps_read:
        click.echo(
            f"newsmon: no sitemap of {site} could be read (see the log {settings['LOG_FILE']})",
            err=True,
        )
        sys.exit(EX_UNAVAILABLE)


def summary_lines(summary: api.CrawlSummary, db_path: str, log_file: str) -> list[str]:
    """The few lines that end a crawl on a terminal."""
    minutes, seconds = divmod(round(summary.seconds), 60)
    if summary.feeds_skipped == summary.feeds_total:
        outcome = f"all {summary.feeds_total} feeds are in back-off, none was fetched"
    else:
        outcome = f"{summary.feeds_ok} of {summary.feeds_total} feeds read"
    lines = [
        f"Crawl finished in {minutes}:{seconds:02d}: {outcome}",
        (
            f"  feeds     {summary.feeds_ok} ok ({summary.feeds_not_modified} not modified), "
            f"{summary.feeds_failed} failed, {summary.feeds_skipped} skipped in back-off"
        ),
        (
            f"  articles  {summary.articles_new} new ({summary.articles_with_text} with text), "
            f"{summary.articles_known} known, "
            f"{summary.articles_failed} failed"
        ),
    ]
    if summary.revisits.get("requested"):
        lines.append(revisits_line(summary.revisits))
    if summary.reasons:
        top = ", ".join(f"{kind} {status} ×{n}" for kind, status, n in summary.reasons[:4])
        lines.append(f"  failures  {top}")
    if summary.back_off.feeds:
        lines.append(f"  {back_off_line(summary.back_off)}")
    lines.append(
        f"Details: 'newsmon status --db {db_path}', the Feed health page of 'newsmon serve', "
        f"and the log {log_file}"
    )
    return lines


def revisits_line(revisits: dict[str, int]) -> str:
    """The summary's line on the re-checks of stored articles."""
    line = (
        f"  revisits  {revisits.get('checked', 0)} re-checked "
        f"({revisits.get('not_modified', 0)} not modified), {revisits.get('edited', 0)} edited, "
        f"{revisits.get('removed', 0)} removed, {revisits.get('failed', 0)} failed"
    )
    if revisits.get("edited") or revisits.get("removed"):
        line += ": 'newsmon changes' lists them"
    return line


def counted(number: int | None, noun: str, plural: str | None = None) -> str:
    """The count and the noun, plural unless one: "1 outlet", "3 outlets", "2 stories"
    (``plural`` where it is not made so; None is 0)."""
    number = number or 0
    if number == 1:
        return f"{number} {noun}"
    if plural is None:
        plural = f"{noun[:-1]}ies" if noun.endswith("y") else f"{noun}s"
    return f"{number} {plural}"


def back_off_line(back_off: api.BackOff) -> str:
    return (
        f"{counted(back_off.feeds, 'feed')} in back-off: the next is due at {back_off.next_due_at}; "
        "'newsmon crawl --force' fetches them now"
    )


def unreachable_line(summary: api.CrawlSummary) -> str:
    if summary.looks_offline:
        return (
            f"no feed could be reached (0 of {summary.feeds_failed} answered): "
            "is this machine online?"
        )
    feed_reasons = [(status, n) for kind, status, n in summary.reasons if kind == "feed"]
    status, count = feed_reasons[0] if feed_reasons else ("", 0)
    detail = f", {count} of them {status}" if status else ""
    hint = f"; {ALLOW_PRIVATE_HINT}" if status == statuses.refused("private") else ""
    return (
        f"no feed could be read: all {summary.feeds_failed} failed{detail} "
        f"(see 'newsmon status'){hint}"
    )


def logging_settings(db_path: str, log_file: str | None, interactive: bool) -> dict[str, str]:
    """The log goes to a file (newsmon.log beside the database unless given), quiet under
    cron; on a terminal the crawl shows a progress line instead."""
    path = Path(log_file) if log_file else Path(db_path).parent / "newsmon.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(
            f"cannot create the log's directory {path.parent}: {exc}"
        ) from exc
    settings = {"LOG_FILE": str(path), "LOG_FILE_APPEND": "True", "LOG_LEVEL": "INFO"}
    if interactive:
        settings["NEWSMON_PROGRESS"] = "True"
    return settings


@cli.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--sql", "allow_sql", is_flag=True, help="Allow arbitrary SQL queries (off by default)."
)
@click.option(
    "--watchlists",
    "watchlists_file",
    type=click.Path(dir_okay=False),
    help="Watchlists file to sync first. Default: watchlists.toml beside the database.",
)
def serve(db_path: str, host: str, port: int, allow_sql: bool, watchlists_file: str | None) -> None:
    """Browse and search the database in datasette, with newsmon's pages, queries and chart.

    Read-only, on 127.0.0.1, with arbitrary SQL off unless --sql is given. Each watchlist
    is an Atom feed at /DATABASE/watchlist.atom?name=NAME.

    \b
    Example:
        newsmon serve --db data/news.db --port 8001
    """
    with reported():
        command = api.serve_command(db_path, host, port, allow_sql, watchlists_file)
    click.echo(f"Serving {db_path} at http://{host}:{port}/", err=True)
    os.execv(command[0], command)


@cli.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@redis_option("Also show the crawl nodes that use this Redis (last seen, tasks, rates).")
def status(db_path: str, as_json: bool, redis_url: str | None) -> None:
    """Feed health: last success, failures in a row, next due time, articles in 24 hours.

    \b
    Example:
        newsmon status --db data/news.db
        newsmon status --db data/news.db --redis redis://127.0.0.1:6379/0
    """
    with reported():
        rows = api.feed_health(db_path)
        run = api.last_run(db_path)
        back_off = api.feeds_in_back_off(db_path)
        nodes = api.cluster_nodes(redis_url) if redis_url else None
    if as_json:
        report = {"last_run": run, "back_off": dataclasses.asdict(back_off), "feeds": rows}
        echo_json(report if nodes is None else {**report, "nodes": nodes})
        return
    if nodes is not None:
        for line in node_lines(nodes):
            click.echo(line)
    if run:
        click.echo(
            f"Last run {run['id']}: {run['status']}, started {run['started_at']}, "
            f"finished {run['finished_at'] or '-'}; {run['articles_new'] or 0} new articles"
        )
    if back_off.feeds:
        click.echo(back_off_line(back_off))
    header = (
        f"{'health':<13} {'fails':>5} {'24h':>4}  {'last ok':<20} {'next due':<20} {'kind':<8} feed"
    )
    click.echo(header)
    for row in rows:
        click.echo(
            f"{row['health']:<13} {row['failures']:>5} {row['articles_24h']:>4}  "
            f"{row['last_ok_at'] or '-':<20} {row['next_due_at'] or 'next run':<20} "
            f"{row['kind']:<8} {row['title'][:60]}"
        )


@cli.command()
@redis_option(
    "The Redis the coordinator ('newsmon crawl --redis URL') publishes to.", required=True
)
@allow_private_option
@settings_option
def node(redis_url: str, allow_private: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Serve crawls on this machine: fetch, parse and extract for a coordinator, run after run.

    The node takes the tasks of the hosts it leases (one node serves a host at a time, with
    the usual per-host politeness), extracts pages with its own worker processes and sends
    the results back through Redis; it keeps no database. It runs until SIGTERM or Ctrl-C,
    then hands back what it has not finished and exits within NEWSMON_NODE_STOP_SECONDS.

    \b
    Example:
        newsmon node --redis redis://:secret@10.0.0.5:6379/0
        newsmon node --redis rediss://crawler:secret@redis.example.org:6380/0 -s DOWNLOAD_DELAY=1
    """
    with reported():
        api.node(redis_url, allow_private, parse_overrides(overrides))


def node_lines(nodes: list[dict[str, Any]]) -> list[str]:
    """The nodes section of 'newsmon status'."""
    if not nodes:
        return ["No crawl nodes have reported to this Redis."]
    lines = [f"{'node':<36} {'last seen':<20} {'run':>5} {'hosts':>5} {'tasks':>7} {'per min':>8}"]
    for each in nodes:
        state = " stopped" if each.get("stopped") else ""
        lines.append(
            f"{each['node'][:36]:<36} {each['last_seen']:<20} {each.get('run') or '-':>5} "
            f"{each.get('hosts', 0):>5} {each.get('tasks', 0):>7} "
            f"{each.get('tasks_per_minute', 0):>8}{state}"
        )
    return lines


@cli.command()
@click.argument("query")
@db_option
@click.option("-n", "--limit", default=20, show_default=True, help="Most results to show.")
@click.option(
    "-l",
    "--language",
    "languages",
    multiple=True,
    metavar="CODE",
    help="Only articles in this language (ISO 639-1, e.g. ru). Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of articles.")
def search(query: str, db_path: str, limit: int, languages: tuple[str, ...], as_json: bool) -> None:
    """Search the articles, best matches first; words match their inflected forms.

    Words must all occur; use "quotes" for phrases, OR, NOT, parentheses and prefix*.
    Words are compared by their stems in each article's language, so мобилизация finds
    мобилизации and border finds borders.

    \b
    Example:
        newsmon search 'mobilisation AND (Kazakhstan OR Georgia)' --db data/news.db
        newsmon search '"Верхний Ларс"' --language ru --json
    """
    with reported():
        results = api.search(db_path, query, limit, languages)
    if listed_as_json(results, as_json, "No articles match."):
        return
    for row in results:
        click.echo(f"{row['id']:>6}  {article_line(row)}")
        click.echo(f"        {row['url']}")
        click.echo(f"        {row['excerpt']}")


@cli.command()
@click.argument("name", required=False)
@db_option
@click.option(
    "--watchlists",
    "watchlists_file",
    type=click.Path(dir_okay=False),
    help="Watchlists file (TOML). Default: watchlists.toml beside the database.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of matches.")
def watch(name: str | None, db_path: str, watchlists_file: str | None, as_json: bool) -> None:
    """Show the watchlist matches not shown before (of NAME, or of every watchlist).

    Each match is shown once: the next call shows only what matched since. Watchlists are
    defined in a TOML file, one table each:

    \b
        [watchlists.exodus]
        query = 'mobilisation AND (Kazakhstan OR Georgia)'
        languages = ["en", "ru"]   # optional, also: feeds = [...], sites = [...]

    A watchlist added to the file is run over the articles already stored at once.

    \b
    Example:
        newsmon watch --db data/news.db
        newsmon watch exodus --db data/news.db --json
    """
    with reported():
        matches = api.watch(db_path, name, watchlists_file)
    if as_json:
        echo_json(matches)
        return
    if not matches:
        click.echo("No new matches.", err=True)
    by_watchlist: dict[str, list[dict[str, Any]]] = {}
    for row in matches:
        by_watchlist.setdefault(row["watchlist"], []).append(row)
    for watchlist, rows in by_watchlist.items():
        click.echo(f"== {watchlist}: {len(rows)} new")
        for row in rows:
            terms = ", ".join(row["matched_terms"])
            click.echo(f"  {article_line(row)}  [{terms}]")
            click.echo(f"              {row['url']}")


@cli.command()
@db_option
@click.option(
    "--what", type=click.Choice(["articles", "matches"]), default="articles", show_default=True
)
@click.option(
    "--since", help="Only what was stored since: a date (2026-11-01), a time, or an age (24h, 7d)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Output file (default: stdout)."
)
@click.option(
    "--with-text",
    is_flag=True,
    help="Only articles whose text was extracted: leave out failed fetches and empty pages.",
)
def export(
    db_path: str, what: str, since: str | None, fmt: str, output: str | None, with_text: bool
) -> None:
    """Export articles (with their text) or watchlist matches as JSON Lines or CSV.

    A file given with -o is written whole or not at all. CSV is UTF-8 with a byte order mark,
    which spreadsheets need to show Cyrillic.

    \b
    Example:
        newsmon export --since 7d --format csv --with-text -o week.csv --db data/news.db
        newsmon export --what matches --since 2026-11-01 --db data/news.db | head
    """
    with reported(OSError):
        if output is None:
            try:
                count = api.export(db_path, sys.stdout, what, since, fmt, with_text)
                sys.stdout.flush()
            except BrokenPipeError:  # the reader stopped (| head): fine
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(0)
        else:
            count = write_whole(
                output, db_path, lambda out: api.export(db_path, out, what, since, fmt, with_text)
            )
    noun = "match" if what == "matches" else "article"
    click.echo(f"{counted(count, noun, what)} exported", err=True)


def write_whole(output: str, db_path: str, write: Callable[[Any], T]) -> T:
    """Write a file whole or not at all (through a hidden ``.NAME.partial`` beside it, removed
    if writing fails), never over the database itself; what ``write`` returns."""
    target = Path(output)
    if target.exists() and Path(db_path).exists() and target.samefile(db_path):
        raise NewsmonError(f"{output} is the database itself: give another file with -o")
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            result = write(out)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return result


@cli.command()
@db_option
@click.option(
    "--since",
    default="24h",
    show_default=True,
    help="Changes found since: a date (2026-11-01), a time, or an age (24h, 7d).",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["edited", "removed", "returned"]),
    help="Only changes of this kind. Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of changes.")
def changes(db_path: str, since: str, kinds: tuple[str, ...], as_json: bool) -> None:
    """Articles edited, removed or back again, as the crawl's revisits found them.

    Stored articles are re-checked on a schedule (NEWSMON_REVISIT_AFTER); an edit keeps the
    earlier version in article_versions, a 404, 410 or redirect to the front page marks the
    article removed with its text kept (docs/revisions.md).

    \b
    Example:
        newsmon changes --since 24h --db data/news.db
        newsmon changes --since 7d --kind removed --json
    """
    with reported():
        rows = api.changes(db_path, since, kinds)
    if listed_as_json(rows, as_json, f"No edits or removals found since {since}."):
        return
    for row in rows:
        click.echo(
            f"{row['detected_at'][:16].replace('T', ' ')}  {row['change']:<8}  {article_line(row)}"
        )
        if row["change"] == "edited" and row["previous_title"] not in (None, row["title"]):
            click.echo(f"{'':>27}headline was: {row['previous_title']}")
        elif row["change"] == "removed":
            click.echo(f"{'':>27}{row['detail'] or row['status']}")
        click.echo(f"{'':>27}{row['url']}")


@cli.command()
@db_option
@click.option(
    "--lang",
    "language",
    metavar="CODE",
    help="Headlines in this language (ru, uk, kk, en) where the story has one.",
)
@click.option(
    "--since",
    help="Only stories last seen since: a date (2026-11-01), a time, or an age (24h, 7d).",
)
@click.option("-n", "--limit", default=20, show_default=True, help="Most stories to show.")
@click.option(
    "--min-outlets", default=1, show_default=True, help="Only stories told by this many outlets."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON list of stories with their articles."
)
def stories(
    db_path: str,
    language: str | None,
    since: str | None,
    limit: int,
    min_outlets: int,
    as_json: bool,
) -> None:
    """Show the stories: one event told by several outlets, in any of the languages.

    Most outlets first. Each story's headline is in the --lang language when one of its
    articles is (else its first headline, with its language), then its outlets, languages,
    and when it was first and last seen.

    \b
    Example:
        newsmon stories --lang ru --since 24h --db data/news.db
        newsmon stories --min-outlets 3 --json --db data/news.db
    """
    with reported():
        rows = api.stories(db_path, language, since, limit, min_outlets)
    if listed_as_json(rows, as_json, "No stories."):
        return
    for row in rows:
        click.echo(
            f"{row['id']:>6}  [{row['headline_language'] or '?'}] {row['headline'] or '(no title)'}"
        )
        click.echo(
            f"        {counted(row['outlet_count'], 'outlet')}, "
            f"{counted(row['article_count'], 'article')}, "
            f"{', '.join(row['languages']) or '-'}; "
            f"{(row['first_seen'] or '')[:16]} to {(row['last_seen'] or '')[:16]}"
        )
        click.echo(f"        {', '.join(row['outlets'])}")


@cli.command()
@db_option
@settings_option
def regroup(db_path: str, overrides: tuple[str, ...]) -> None:
    """Group the stored articles into stories again, after the method or its settings changed.

    Embeds the headlines that have no vector of the current method yet (committed as it
    goes: a killed run resumes), then groups every article again in order of publication and
    writes the stories in one transaction. Waits for no crawl: fails if one is running.

    \b
    Example:
        newsmon regroup --db data/news.db
        newsmon regroup --db data/news.db -s NEWSMON_STORY_VECTOR_THRESHOLD=0.9
    """
    settings = parse_overrides(overrides)
    interactive = sys.stderr.isatty()

    def progress(step: str, done: int, total: int) -> None:
        if interactive:
            label = "embedding headlines" if step == "embed" else "grouping"
            click.echo(f"\r{label}: {done}/{total}", nl=done >= total, err=True)

    with reported_or_locked():
        result = api.regroup(db_path, settings, progress)
    click.echo(
        f"{counted(result['embedded'], 'headline')} embedded; "
        f"{counted(result['articles'], 'article')} in {counted(result['stories'], 'story')}, "
        f"{result['changed']} moved",
        err=True,
    )


@cli.group()
def feeds() -> None:
    """Manage the feed list stored in the database.

    \b
    Example:
        newsmon feeds import feeds.opml --db data/news.db
        newsmon feeds list --db data/news.db
    """


@feeds.command("import")
@click.argument("feeds_file", type=click.Path(dir_okay=False))
@db_option
def feeds_import(feeds_file: str, db_path: str) -> None:
    """Add the feeds of an OPML file or plain URL list to the database.

    \b
    Example:
        newsmon feeds import feeds.opml --db data/news.db
    """
    with reported():
        added = api.import_feeds(db_path, feeds_file)
    click.echo(f"{counted(added, 'new feed')} added to {db_path}")


@feeds.command("add")
@click.argument("url")
@db_option
@click.option("--category", help="Category (folder) for the feed, e.g. 'Central Asia'.")
@click.option("--allow-private", multiple=True, metavar="NET", help="As for crawl.")
def feeds_add(url: str, db_path: str, category: str | None, allow_private: tuple[str, ...]) -> None:
    """Add a feed by its URL, or by a site's URL: the site's feed is found for you.

    A site's page is searched for <link rel="alternate"> feeds (RSS, Atom, JSON Feed), then
    common feed paths (/feed, /rss.xml, ...) are tried; the feed must parse. A site without a
    feed is searched for sitemaps (robots.txt, /news-sitemap.xml, /sitemap.xml), read as feeds.
    A public Telegram channel is added as its preview page, given as https://t.me/NAME,
    t.me/s/NAME or @NAME.

    \b
    Example:
        newsmon feeds add https://meduza.io/ --db data/news.db --category Russia
        newsmon feeds add @bbcrussian --db data/news.db
    """
    with reported(ValueError):
        found = api.discover_feed(url, allow_private)
        source = FeedSource(found.url, found.title, category, found.kind)
        added = api.import_feed_sources(db_path, [source])
    verb = "Added" if added else "Already listed:"
    kind = f" [{found.kind}]" if found.kind and found.kind != "feed" else ""
    click.echo(f"{verb} {found.url}{kind}" + (f" ({found.title})" if found.title else ""))


@feeds.command("remove")
@click.argument("feed")
@db_option
def feeds_remove(feed: str, db_path: str) -> None:
    """Stop crawling a feed, given its URL or id; its articles and history stay.

    \b
    Example:
        newsmon feeds remove https://meduza.io/rss/all --db data/news.db
    """
    with reported():
        url = api.remove_feed(db_path, feed)
    click.echo(f"Removed {url}")


@feeds.command("export")
@db_option
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Output file (default: stdout)."
)
def feeds_export(db_path: str, output: str | None) -> None:
    """Write the feed list as OPML 2.0 (categories as folders), for any feed reader.

    \b
    Example:
        newsmon feeds export --db data/news.db -o feeds.opml
    """
    with reported(OSError):
        opml = api.export_opml(db_path)  # read whole first: a missing database writes nothing
        if output is None:
            click.echo(opml, nl=False)
        else:
            write_whole(output, db_path, lambda out: out.write(opml))


@feeds.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def feeds_list(db_path: str, as_json: bool) -> None:
    """List the feeds in the database with their last fetch outcome.

    \b
    Example:
        newsmon feeds list --db data/news.db --json
    """
    with reported():
        rows = api.list_feeds(db_path, must_exist=True)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        status = row["last_status"] or "never fetched"
        kind = row.get("kind") or "feed"
        click.echo(
            f"{row['id']:>4}  {kind:<8}  {status:<20}  {row['title'] or '-':<40.40}  {row['url']}"
        )


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def listed_as_json(rows: list[dict[str, Any]], as_json: bool, none: str) -> bool:
    """Print the rows as JSON if asked (True: nothing more to print), or say ``none`` on stderr
    when there are no rows."""
    if as_json:
        echo_json(rows)
        return True
    if not rows:
        click.echo(none, err=True)
    return False


def article_line(row: dict[str, Any]) -> str:
    """Date, outlet and title of an article, for one line of output."""
    return (
        f"{(row['published'] or '')[:10]:<10}  {row['site_name'] or '-'}: "
        f"{row['title'] or '(no title)'}"
    )
