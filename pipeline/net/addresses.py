"""Which IP addresses the crawler may connect to: public ones, and the networks a user allows."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(specs: Iterable[str]) -> list[IPNetwork]:
    """Parse ``127.0.0.1``, ``10.0.0.0/8`` or ``::1`` style strings; ValueError names a bad one."""
    networks = []
    for spec in specs:
        if not str(spec).strip():
            raise ValueError("an empty network: give an IP address or a network (CIDR)")
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"not an IP address or network (CIDR): {part!r}") from exc
    return networks


def classify(address: IPAddress) -> str | None:
    """Return why ``address`` is not public (``loopback``, ``private``, ...), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or _teredo_client(address)
        if embedded is not None:
            reason = classify(embedded)
            if reason:
                return reason
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("non-public", not address.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


def _teredo_client(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    teredo = address.teredo
    return teredo[1] if teredo else None


class AddressPolicy:
    """Refuses non-public addresses except those in the allowed networks."""

    def __init__(self, allowed: Iterable[IPNetwork] = ()) -> None:
        self.allowed = list(allowed)

    @classmethod
    def from_specs(cls, specs: Iterable[str]) -> AddressPolicy:
        return cls(parse_networks(specs))

    def refusal(self, address: IPAddress | str) -> str | None:
        """Return the reason to refuse a connection to ``address``, or None to allow it."""
        if isinstance(address, str):
            address = ipaddress.ip_address(address.split("%", 1)[0])
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            candidates.append(address.ipv4_mapped)
        if any(a in net for a in candidates for net in self.allowed if a.version == net.version):
            return None
        return classify(address)
