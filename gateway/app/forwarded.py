"""Who sent a request: the direct peer, or the client a trusted reverse proxy names.

`source_address(peer, forwarded_for, trusted)` is the address the audit trail records. The
peer's own address, unless the peer is one of `trusted` (the configured reverse proxies,
`Settings.gateway_trusted_proxies`): then the `X-Forwarded-For` list is read from the right
(the hop nearest the gateway first), trusted hops skipped, and the first address not a
trusted proxy is the source. Anybody else's `X-Forwarded-For` is ignored: a header is not
evidence. A list a trusted proxy sent that is malformed, or holds only trusted hops, leaves
the peer as the source. Pure; it does not depend on the ASGI server rewriting anything.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["Networks", "networks_of", "source_address"]

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def networks_of(items: Iterable[str]) -> Networks:
    """The networks of addresses or CIDRs (`ValueError` for one that is neither)."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def source_address(peer: str | None, forwarded_for: str | None, trusted: Networks) -> str | None:
    """The request's source address; see the module doc."""
    if peer is None or not forwarded_for or not _within(peer, trusted):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()
        if not _within(hop, trusted):
            return hop if _address(hop) is not None else peer
    return peer


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _within(value: str, networks: Networks) -> bool:
    address = _address(value)
    return address is not None and any(address in network for network in networks)
