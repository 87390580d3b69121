"""The redis-server fixture for these tests (tests/redisserver.py)."""

from tests.redisserver import redis_server  # noqa: F401
