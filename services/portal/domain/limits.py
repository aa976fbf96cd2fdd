"""The sign-in rate limit (docs/access.md): failed attempts counted per account and per client
address over a sliding window; past the limit, the next try waits until the oldest failure
of the window leaves it (``Retry-After``)."""

from __future__ import annotations

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
