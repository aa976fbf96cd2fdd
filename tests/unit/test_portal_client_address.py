"""Whom the portal's per-address limits count against (services/portal/domain/limits.py):
the TCP peer, unless it is a trusted reverse proxy; then the nearest untrusted hop of
X-Forwarded-For, never what a client wrote left of it."""

from __future__ import annotations

import ipaddress

import pytest

from services.portal.domain.limits import client_address

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # no proxy trusted in front: the header is anybody's to write, and ignored
        ("198.51.100.4", "203.0.113.9", "198.51.100.4"),
        # a trusted proxy: the client it saw
        ("10.1.2.3", "203.0.113.9", "203.0.113.9"),
        # two trusted proxies in a row: the client before them
        ("10.1.2.3", "203.0.113.9, 10.9.9.9", "203.0.113.9"),
        # the client wrote a header of its own before the proxy appended: not believed
        ("10.1.2.3", "192.0.2.1, 203.0.113.9", "203.0.113.9"),
        # garbage the client sent, then its address: the address
        ("10.1.2.3", "not-an-ip, 203.0.113.9", "203.0.113.9"),
        # the proxy appended nothing readable: the proxy itself
        ("10.1.2.3", "203.0.113.9, bogus", "10.1.2.3"),
        # a trusted proxy without a header: the proxy
        ("10.1.2.3", "", "10.1.2.3"),
        # IPv6 proxies and clients, written in a long form: one form for one client
        ("2001:db8::1", "2001:0DB9:0:0::7, 2001:db8::2", "2001:db9::7"),
        # every hop a trusted proxy: the first, a client inside the network
        ("2001:db8::1", "2001:0db8::5, 2001:db8::2", "2001:db8::5"),
        (None, "203.0.113.9", "unknown"),
    ],
)
def test_the_client_is_the_nearest_untrusted_hop(
    peer: str | None, forwarded: str, client: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client
