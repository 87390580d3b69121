"""Scrapy extensions for the run as a whole: the crawl lock, reactor lag, garbage collection,
watchlist matching, the run log and the progress line."""
