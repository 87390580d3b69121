# newsmon task runner. Every target installs what it needs into .venv on first use.
#
# Cron (see README): */15 * * * * cd /srv/newsmon && .venv/bin/newsmon crawl --db data/news.db

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= data/news.db
FEEDS ?= feeds.opml
PORT ?= 8001
comma := ,

.PHONY: all install redis-server test lint fmt run crawl serve demo bench screenshots clean

all: test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "newsmon needs Python 3.11 or newer (found $(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(STAMP) redis-server

# Debian's redis-server, for the cluster tests (tests/redisserver.py) and `newsmon crawl --redis`.
redis-server:
	@command -v redis-server >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
		$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			$$sudo apt-get install -y -q --no-install-recommends redis-server; } || \
		{ echo "could not install redis-server: sudo apt-get install redis-server"; exit 1; }

test: install
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory lint

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The main job: crawl the default feed list into $(DB), then browse it.
run: crawl serve

crawl: install
	$(BIN)/newsmon crawl --feeds $(FEEDS) --db $(DB)

serve: install
	$(BIN)/newsmon serve --db $(DB) --port $(PORT)

# Offline demo: a small news site from tests/mockserver/site on 127.0.0.1, crawled and served.
demo: install
	$(BIN)/python -m pipeline.demo --db data/demo.db --port $(PORT)

# Benchmarks: crawl throughput on the demo site, or on another news web on loopback
#   make bench FEEDS=/tmp/nr/feeds.opml ALLOW=127.0.0.0/8
# then dedup cost per article at 10k and 100k stored articles, then how many articles per second
# the cluster's writer alone stores (docs/cluster.md).
bench: install
	$(BIN)/python -m benchmarks.crawl_bench \
		$(if $(filter command line,$(origin FEEDS)),--feeds $(FEEDS)) \
		$(foreach net,$(subst $(comma), ,$(ALLOW)),--allow-private $(net))
	$(BIN)/python -m benchmarks.dedup_bench --sizes 10000,100000
	$(BIN)/python -m benchmarks.writer_bench --stored 10000

# PNGs of the main datasette pages (demo site, example watchlists) in headless Chromium, into
# screenshots/; fails on console errors. Needs Debian's chromium (installed here if missing).
screenshots: install
	@test -x /usr/bin/chromium || { test "$$(id -u)" = 0 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
		{ echo "make screenshots needs Chromium: sudo apt-get install chromium"; exit 1; }
	$(BIN)/python -c 'import playwright' 2>/dev/null || \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,screenshots]'
	$(BIN)/python -m scripts.screenshots --out screenshots

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
