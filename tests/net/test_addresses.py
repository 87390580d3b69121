"""The private-address guard, tested on its decision function: no test connects anywhere."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

from pipeline.downloadermiddlewares.addressguard import (
    AddressGuardMiddleware,
    resolve_host,
    scheme_problem,
)
from pipeline.net.addresses import AddressPolicy, parse_networks


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.10.20.30", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "private"),
        ("198.18.0.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("2002:a9fe:a9fe::", "link-local"),  # 6to4 around 169.254.169.254
        ("2001:db8::1", "private"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert AddressPolicy().refusal(address) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2a00:1450:4001:82a::200e"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_allowed_networks_admit_only_themselves() -> None:
    policy = AddressPolicy.from_specs(["127.0.1.0/24", "10.0.0.5", "fd00::/8"])
    assert policy.refusal("127.0.1.77") is None
    assert policy.refusal("10.0.0.5") is None
    assert policy.refusal("fd00::1") is None
    assert policy.refusal("::ffff:127.0.1.9") is None
    assert policy.refusal("127.0.0.2") == "loopback"
    assert policy.refusal("10.0.0.6") == "private"


def test_networks_can_be_comma_separated_and_bad_ones_are_named() -> None:
    assert len(parse_networks(["127.0.0.1/32,127.0.1.0/24"])) == 2
    with pytest.raises(ValueError, match="'localhost'"):
        parse_networks(["localhost"])


def guard() -> AddressGuardMiddleware:
    crawler = get_crawler(settings_dict={"NEWSMON_ALLOW_PRIVATE": ["127.0.1.0/24"]})
    return AddressGuardMiddleware.from_crawler(crawler)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "::1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "localhost", "127.0.0.2"],
)
def test_guard_resolves_every_spelling_of_loopback(host: str) -> None:
    addresses = resolve_host(host, 80)
    assert addresses, host
    assert "resolves to loopback address" in (guard().address_problem(host, addresses) or "")


def test_guard_admits_allowed_network_after_resolution() -> None:
    assert guard().address_problem("127.0.1.5", resolve_host("127.0.1.5", 80)) is None


@pytest.mark.parametrize(
    ("scheme", "host", "refused"),
    [
        ("http", "example.org", False),
        ("HTTPS", "example.org", False),
        ("ftp", "example.org", True),
        ("file", None, True),
        ("data", None, True),
        ("s3", "bucket", True),
        ("javascript", None, True),
        ("http", None, True),
    ],
)
def test_only_http_urls_with_a_host_are_fetched(
    scheme: str, host: str | None, refused: bool
) -> None:
    assert bool(scheme_problem(scheme, host)) is refused
