"""A provider's rate limit, shared by every replica of notifications: at most ``rate`` messages
a second to one provider whatever the number of senders, with bursts of a second's worth.

The bucket is a row of ``rate_buckets`` (adapters/rate_buckets.py). Asking the database for
each message would cost a round trip per e-mail; a sender takes tokens for the messages it has
waiting, up to a tenth of a second's worth at a time, with one UPDATE. A grant it does not
use soon is dropped rather than kept: a replica that held tokens back and spent them later,
while the others spend the refill, would make a burst the bucket never allowed.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg

from services.notifications.adapters import rate_buckets
from shared.settings import Settings

# A grant is for the messages waiting now: one unused after this is given up.
HOLD_S = 0.1
# The most a sender takes at once, in seconds of the rate (2,000/s: 200 tokens a take; SMS at
# 50/s: 5), what it may use within HOLD_S.
CHUNK_S = HOLD_S


class RateLimit:
    """``take()`` returns when one more message may go to the provider."""

    def __init__(self, pool: asyncpg.Pool, provider: str, rate: float) -> None:
        self.pool = pool
        self.provider = provider
        self.rate = rate
        self.burst = rate
        self.chunk = max(1, int(rate * CHUNK_S))
        self.allowance = 0  # tokens taken and not used yet
        self.until = 0.0  # when the allowance is given up (the loop's monotonic clock)
        self.waiting = 0
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        loop = asyncio.get_running_loop()
        self.waiting += 1
        try:
            async with self.lock:
                while True:
                    if self.allowance > 0 and loop.time() < self.until:
                        self.allowance -= 1
                        return
                    want = min(self.waiting, self.chunk)
                    granted, left = await rate_buckets.take(
                        self.pool, self.provider, want, self.rate, self.burst
                    )
                    if granted > 0:
                        self.allowance, self.until = granted - 1, loop.time() + HOLD_S
                        return
                    # Until the bucket holds what is wanted (another replica may take it
                    # first): waking for each token made an UPDATE per message once the
                    # bucket ran dry (SMS at 50/s behind a backlog: 1.7 a message).
                    want = min(self.waiting, self.chunk)
                    await asyncio.sleep(max(0.001, (want - left) / self.rate))
        finally:
            self.waiting -= 1


def _provider(scheme: str, url: str) -> str:
    parts = urlsplit(url)
    return f"{scheme}://{parts.hostname}:{parts.port or 80}"


def limits(pool: asyncpg.Pool, settings: Settings) -> dict[str, RateLimit]:
    """Each channel's provider and its rate (every replica has the same settings): the SMTP
    server by its host and port, Kannel by its sendsms address."""
    return {
        "email": RateLimit(
            pool, f"smtp://{settings.smtp_host}:{settings.smtp_port}", settings.smtp_rate_per_s
        ),
        "sms": RateLimit(
            pool, _provider("kannel", settings.sms_sendsms_url), settings.sms_rate_per_s
        ),
    }
