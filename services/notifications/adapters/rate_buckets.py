"""The providers' token buckets in PostgreSQL (one row per provider), shared by the replicas."""

from __future__ import annotations

import asyncpg

# What the bucket holds now: its tokens plus the refill since the last take, at most a burst.
# Every expression of the UPDATE reads the row as it was, the latest committed version when
# two replicas take at once (the second waits for the first's row lock, then sees its write).
_NOW = "statement_timestamp()"
_ELAPSED = f"greatest(0, extract(epoch FROM {_NOW} - at)::float8)"
_AVAILABLE = f"least($4::float8, tokens + $3::float8 * {_ELAPSED})"
_GRANTED = f"least($2::int, floor({_AVAILABLE}))::int"
_TAKE = f"""UPDATE rate_buckets
    SET granted = {_GRANTED}, tokens = {_AVAILABLE} - {_GRANTED}, at = greatest(at, {_NOW})
    WHERE provider = $1
    RETURNING granted, tokens"""


async def take(
    pool: asyncpg.Pool, provider: str, want: int, rate: float, burst: float
) -> tuple[int, float]:
    """Up to ``want`` tokens of ``provider``'s bucket, refilled at ``rate`` a second up to
    ``burst``: (granted, the tokens left, a fraction when none was granted)."""
    row = await pool.fetchrow(_TAKE, provider, want, rate, burst)
    if row is None:  # the provider's first take: its bucket, full
        await pool.execute(
            f"""INSERT INTO rate_buckets (provider, tokens, at) VALUES ($1, $2, {_NOW})
                ON CONFLICT (provider) DO NOTHING""",
            provider,
            burst,
        )
        row = await pool.fetchrow(_TAKE, provider, want, rate, burst)
    assert row is not None
    return row["granted"], row["tokens"]
