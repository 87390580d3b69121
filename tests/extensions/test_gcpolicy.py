from __future__ import annotations

import gc

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from pipeline.extensions.gcpolicy import GarbageCollectionPolicy


def policy(threshold: object) -> GarbageCollectionPolicy:
    return GarbageCollectionPolicy.from_crawler(
        get_crawler(settings_dict={"NEWSMON_GC_THRESHOLD": threshold})
    )


def test_thresholds_hold_while_the_spider_is_open_and_collections_are_counted() -> None:
    before = gc.get_threshold()
    extension = policy([50_000, 20, 10])
    extension.spider_opened()
    try:
        assert gc.get_threshold() == (50_000, 20, 10)
        gc.collect()
    finally:
        extension.spider_closed()
    assert gc.get_threshold() == before
    stats = extension.stats
    assert stats.get_value("newsmon/gc/collections/generation_2") == 1
    assert stats.get_value("newsmon/gc/seconds") >= 0
    assert stats.get_value("newsmon/gc/longest_ms") > 0
    gc.collect()  # no longer counted
    assert extension.collections[2] == 1


def test_thresholds_given_on_the_command_line() -> None:
    assert policy("30000,10,10").thresholds == (30_000, 10, 10)


def test_switched_off_or_malformed() -> None:
    with pytest.raises(NotConfigured):
        policy([])
    with pytest.raises(ValueError, match="three counts"):
        policy([50_000, 20])
    with pytest.raises(ValueError, match="three counts"):
        policy([0, 10, 10])
