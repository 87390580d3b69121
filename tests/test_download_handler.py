from __future__ import annotations

import subprocess
import sys

from pipeline import settings

# In a child process: building the handler installs a Twisted reactor, which this one must not.
PROBE = """
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.reactor import install_reactor
from scrapy.utils.test import get_crawler

install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from pipeline.download_handler import HTTPDownloadHandler

crawler = get_crawler(
    settings_dict={"TWISTED_REACTOR_ENABLED": True, "NEWSMON_IDLE_CONNECTION_SECONDS": 3}
)
print(build_from_crawler(HTTPDownloadHandler, crawler)._pool.cachedConnectionTimeout)
"""


def test_idle_connections_are_kept_for_newsmon_seconds_not_twisted_minutes() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == 3
    assert settings.DOWNLOAD_HANDLERS["https"] == "pipeline.download_handler.HTTPDownloadHandler"
