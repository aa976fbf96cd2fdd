"""The sign-in rate limit (docs/access.md): failed attempts counted per account and per client
address over a sliding window; past the limit, the next try waits until the oldest failure
of the window leaves it (``Retry-After``)."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Limit:
    max_failures: int
    window: timedelta


def retry_after(failures: Sequence[datetime], limit: Limit, now: datetime) -> int | None:
    """Seconds to wait before the next attempt, or None when one may be made now.
    ``failures``: the key's failed attempts (any order; those outside the window ignored)."""
    recent = sorted(at for at in failures if at > now - limit.window)
    if len(recent) < limit.max_failures:
        return None
    # The attempt that brings the count under the limit: the oldest of the last max_failures.
    frees_at = recent[-limit.max_failures] + limit.window
    return max(1, math.ceil((frees_at - now).total_seconds()))


def strictest(waits: Sequence[int | None]) -> int | None:
    """The longest wait of several limits (the account's and the address's)."""
    given = [w for w in waits if w is not None]
    return max(given) if given else None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(peer: str | None, forwarded_for: str, proxies: Sequence[Network]) -> str:
    """The address a request's limits count against. From a trusted proxy, the nearest
    address of X-Forwarded-For that is not itself a trusted proxy: each proxy appends the
    peer it saw, so what lies left of the first untrusted hop is the client's to write and
    is not believed. From anyone else, the TCP peer, whatever the header says."""
    if peer is None:
        return "unknown"
    if not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from the client's side: the proxy is all we know
    return str(ipaddress.ip_address(hops[0])) if hops else peer
