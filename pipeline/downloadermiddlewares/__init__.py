"""Scrapy downloader middlewares: which requests are sent at all (address guard, feed schedule,
known articles), robots.txt Crawl-delay, meta refresh read from a page's head, and the
``IgnoreRequest`` exceptions they raise."""
