"""Scrapy item pipelines: extraction, dedup, and the SQLite store (with dedup's table writes)."""
