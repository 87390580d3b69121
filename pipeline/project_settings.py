"""newsmon's Scrapy settings for a run, as every command starts from them."""

from __future__ import annotations

from collections.abc import Iterable

from scrapy.settings import Settings

from pipeline.net.addresses import parse_networks


def project_settings(allow_private: Iterable[str] = ()) -> Settings:
    """The settings of ``pipeline.settings``, with the non-public networks ``allow_private``
    allowed (``NEWSMON_ALLOW_PRIVATE``); a bad network is an error now, before any run starts."""
    settings = Settings()
    settings.setmodule("pipeline.settings", priority="project")
    allowed = list(allow_private)
    parse_networks(allowed)
    if allowed:
        settings.set("NEWSMON_ALLOW_PRIVATE", allowed, priority="cmdline")
    return settings
