"""Scrapy settings for newsmon.

Our own settings are prefixed ``NEWSMON_`` and documented in docs/settings.md, with the Scrapy
settings newsmon changes.
"""

from __future__ import annotations

import os

BOT_NAME = "newsmon"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# Where the crawl writes, and what it reads. `newsmon crawl` sets these from its options.
NEWSMON_DB_PATH = os.environ.get("NEWSMON_DB_PATH", "data/news.db")
NEWSMON_FEEDS_FILE = os.environ.get("NEWSMON_FEEDS_FILE", "feeds.opml")
NEWSMON_FEEDS: list[str] = []  # feed URLs; when set, used instead of NEWSMON_FEEDS_FILE
NEWSMON_CONTACT_URL = "https://github.com/newsmon/newsmon"
# Networks (CIDR or single addresses) the crawler may connect to although they are not public.
NEWSMON_ALLOW_PRIVATE: list[str] = []
NEWSMON_MAX_ENTRIES_PER_FEED = 500
NEWSMON_FETCH_ARTICLES = True  # False: store feed entries only, request no article page
NEWSMON_MAX_TITLE_CHARS = 1000
NEWSMON_MAX_URL_CHARS = 2048
NEWSMON_MIN_TEXT_CHARS = 200  # shorter extractions are stored without text
NEWSMON_EXTRACT_WORKERS = 0  # 0: one worker process per core
NEWSMON_EXTRACT_TASKS_PER_WORKER = 2000  # restart a worker after this many pages and feeds
NEWSMON_WORKER_MAX_RSS_MB = 150  # ... or once its resident memory is above this
NEWSMON_EXTRACT_TIMEOUT = 20.0  # seconds per page; then the worker is killed and replaced
NEWSMON_EXTRACT_MEMORY_MB = 512  # memory per page on top of a worker's own; 0: no limit
NEWSMON_FEED_PARSE_TIMEOUT = 60.0  # seconds per feed, parsed in a worker process
NEWSMON_BATCH_SIZE = 100  # rows per write transaction
NEWSMON_BATCH_SECONDS = 2.0  # ... or at least this often
# Dedup thresholds, chosen from measurements (docs/dedup.md).
NEWSMON_NEAR_DUPLICATE_THRESHOLD = 0.5  # Jaccard similarity of 4-word shingles
NEWSMON_STORY_THRESHOLD = 0.3  # IDF-weighted cosine of title-and-lead terms
NEWSMON_STORY_WINDOW_DAYS = 3.0
# Stories across languages: headline embeddings plus shared names and numbers (docs/stories.md).
NEWSMON_STORY_EMBEDDINGS = True  # False: stories by title-and-lead terms only
NEWSMON_STORY_EMBEDDING_WORDS = 40  # words of the text embedded after the headline
NEWSMON_STORY_VECTOR_THRESHOLD = 0.885  # best link to a member of the story
NEWSMON_STORY_VECTOR_MEAN_THRESHOLD = 0.87  # mean over the story's members in the window
NEWSMON_STORY_NAME_WEIGHT = 0.02  # per shared name (at most 3), unless in one language
NEWSMON_STORY_NUMBER_WEIGHT = 0.04  # added per shared number (at most 3)
NEWSMON_STORY_SAME_OUTLET_PENALTY = 0.01
NEWSMON_STORY_DAY_PENALTY = 0.01  # per day between the two publication times
NEWSMON_STORY_NUMBER_CONFLICT_PENALTY = 0.05  # both headlines give figures, none shared
NEWSMON_STORY_CROSS_LANGUAGE_BONUS = 0.04  # added when the two are in different languages
NEWSMON_STORY_COMMON_NAME_SHARE = 0.1  # names in more of the window's articles do not count
NEWSMON_STORY_VECTOR_CANDIDATES = 1000  # stored articles of the window compared, newest first
# Feed scheduling: how often a healthy feed may be fetched, and the back-off after failures
# (doubling from the base up to the maximum, or longer if the server sends Retry-After).
NEWSMON_FEED_MIN_INTERVAL = 0  # seconds; 0 fetches every feed on every run (conditional GET)
NEWSMON_FEED_BACKOFF_BASE = 300
NEWSMON_FEED_BACKOFF_MAX = 24 * 3600
NEWSMON_FEED_UNHEALTHY_FAILURES = 3
NEWSMON_FORCE = False  # True: fetch every feed now, whatever its back-off (newsmon crawl --force)
NEWSMON_ARTICLE_MAX_ATTEMPTS = 3  # fetches of a page that keeps failing for passing reasons
NEWSMON_MAX_CRAWL_DELAY = 60  # robots.txt Crawl-delay is honoured up to this many seconds
# Watchlists file (TOML); None: watchlists.toml beside the database; "": no matching.
NEWSMON_WATCHLISTS: str | None = None
# A command run after a crawl that found new watchlist matches, given them as JSON on stdin.
NEWSMON_ON_MATCHES = ""
NEWSMON_PROGRESS = False  # a progress line on stderr; `newsmon crawl` sets it on a terminal
NEWSMON_FEEDS_TOTAL = 0  # for the progress line
NEWSMON_LOCK_HELD = False  # set by `newsmon crawl`, which takes the database lock itself
NEWSMON_LOOPLAG_INTERVAL = 0.05  # seconds between reactor lag probes; 0 switches them off
# Revisits of stored articles (docs/revisions.md): the ages after first storing at which each
# article is re-checked for edits and take-downs; "0": every stored article on every run;
# empty: no revisits. At most NEWSMON_REVISIT_MAX_PER_RUN re-checks per run, newest first.
NEWSMON_REVISIT_AFTER = ["1h", "6h", "24h", "3d", "7d"]
NEWSMON_REVISIT_MAX_PER_RUN = 500
# The crawl process's garbage collection thresholds (gc.set_threshold); empty: Python's own.
NEWSMON_GC_THRESHOLD = [50_000, 20, 10]
# Sources beyond feeds (docs/sources.md): how many posts the first read of a Telegram channel
# goes back; how much of the site's sitemaps `newsmon backfill` reads.
NEWSMON_TELEGRAM_BACKFILL = 100
NEWSMON_SITEMAP_MAX_FILES = 500  # sitemap files per backfill, indexes included
NEWSMON_SITEMAP_MAX_BYTES = 64 * 1024 * 1024  # per sitemap, once inflated (gzip bombs stop here)
NEWSMON_SITEMAP_MAX_URLS = 100_000  # per sitemap file (sitemaps.org allows 50,000)
NEWSMON_SITEMAP_MAX_DEPTH = 4  # sitemap indexes nested in indexes

# Several machines, one crawl (docs/cluster.md). With a Redis URL, `newsmon crawl` is the
# coordinator and only writer; `newsmon node` fetches, parses and extracts.
NEWSMON_REDIS_URL = ""  # redis://[user:password@]host:port/db, rediss:// for TLS; "": one machine
NEWSMON_REDIS_PREFIX = "newsmon"  # of every key newsmon writes in Redis
NEWSMON_REDIS_RETRY_SECONDS = 60.0  # Redis unreachable this long: the coordinator gives up
NEWSMON_WRITER_MAX_PENDING = 200  # results read and not stored yet, at most
NEWSMON_NODE_NAME = ""  # the node's name in `newsmon status` (with its pid); "": the host name
NEWSMON_NODE_LEASE_SECONDS = 30.0  # a host's lease; a vanished node's hosts are free after it
NEWSMON_NODE_HOSTS = 16  # hosts a node serves at a time
NEWSMON_NODE_TASKS_PER_HOST = 8  # tasks of one host a node takes ahead
NEWSMON_NODE_MAX_RESULTS = 5000  # results waiting for the writer: above, nodes pause
NEWSMON_NODE_MAX_DELIVERIES = 3  # a task taken this many times without an end is given up
NEWSMON_NODE_STOP_SECONDS = 25.0  # after SIGTERM, the node exits within this many seconds

USER_AGENT = f"newsmon/0.1 (+{NEWSMON_CONTACT_URL})"
ROBOTSTXT_OBEY = True

# Polite by default: at most two requests at a time per site, with a delay adapted to the server.
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
# Article pages get less: one that has not answered in 15 s is tried again on the next run
# (NEWSMON_ARTICLE_MAX_ATTEMPTS), and a run is not held up for long by its slowest page.
NEWSMON_ARTICLE_TIMEOUT = 15
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
# Article pages get less: a news page over 8 MiB is not an article, and a page, or a bomb's
# output, is held whole in memory until it reaches the limit.
NEWSMON_ARTICLE_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
DNS_TIMEOUT = 20
REDIRECT_MAX_TIMES = 10
RETRY_TIMES = 2
# Giving up on one page is an outcome we record, not an error of the crawl.
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"
# A server that stalled once usually stalls again: time-outs are not retried.
RETRY_EXCEPTIONS = [
    "scrapy.exceptions.CannotResolveHostError",
    "scrapy.exceptions.DownloadConnectionRefusedError",
    "scrapy.exceptions.DownloadFailedError",
    "scrapy.exceptions.ResponseDataLossError",
    "twisted.internet.error.ConnectionDone",
    "twisted.internet.error.ConnectError",
    "twisted.internet.error.ConnectionLost",
    OSError,
]

# Only http(s) is ever fetched: no local files, data: URLs, FTP or S3.
DOWNLOAD_HANDLERS = {
    "http": "pipeline.download_handler.HTTPDownloadHandler",
    "https": "pipeline.download_handler.HTTPDownloadHandler",
    "file": None,
    "data": None,
    "ftp": None,
    "s3": None,
}
NEWSMON_IDLE_CONNECTION_SECONDS = 10  # then an idle connection to a host is closed
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt, so that a refused host never even gets a robots.txt request.
    "pipeline.downloadermiddlewares.addressguard.AddressGuardMiddleware": 50,
    "pipeline.downloadermiddlewares.feedschedule.FeedScheduleMiddleware": 60,
    "pipeline.downloadermiddlewares.channelstate.ChannelStateMiddleware": 65,
    "pipeline.downloadermiddlewares.knownarticles.KnownArticlesMiddleware": 70,
    # After RobotsTxtMiddleware (100), which parses robots.txt first.
    "pipeline.downloadermiddlewares.crawldelay.CrawlDelayMiddleware": 110,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "pipeline.downloadermiddlewares.metarefresh.HeadMetaRefreshMiddleware": 580,  # where Scrapy's is
    # Sees 3xx responses before RedirectMiddleware (600) follows them.
    "pipeline.downloadermiddlewares.addressguard.RedirectGuardMiddleware": 610,
}
ITEM_PIPELINES = {
    "pipeline.pipelines.extraction.ExtractPipeline": 300,
    "pipeline.pipelines.posts.PostPipeline": 310,
    "pipeline.pipelines.dedup.DedupPipeline": 400,
    "pipeline.pipelines.store.SQLitePipeline": 800,
}
EXTENSIONS = {
    "pipeline.extensions.crawllock.CrawlLock": 0,
    # LoopLag reports on spider_closed before RunLog records the stats.
    "pipeline.extensions.looplag.LoopLag": 400,
    "pipeline.extensions.gcpolicy.GarbageCollectionPolicy": 410,
    "pipeline.extensions.watchlistmatcher.WatchlistMatcher": 450,
    "pipeline.extensions.runlog.RunLog": 500,
    "pipeline.extensions.revisits.Revisits": 550,
    "pipeline.extensions.progress.Progress": 600,
}

# A host's pages are requested in the order their feeds listed them (Scrapy's default is last
# in, first out): a page that is slow to answer, listed by a feed read early, then starts early
# too, instead of holding up the end of the run.
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
# Feeds before pages whatever their host, the host with the most pages waiting first, without
# counting every waiting host's downloads for every request (pipeline.priority_queue).
SCHEDULER_PRIORITY_QUEUE = "pipeline.priority_queue.HostRoundRobinQueue"

# Downloaded pages may wait for a free extraction worker up to this many bytes (Scrapy: 5 MB).
# More keeps downloads going further ahead of extraction, so that a slow server is asked
# early rather than at the end of the run; pages wait undecoded, as downloaded.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 16_000_000

# Items of one response processed at once. Scrapy starts this many tasks for every response
# that yields anything; ours yield one item, or a feed's entries, which need no concurrency.
CONCURRENT_ITEMS = 16

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
