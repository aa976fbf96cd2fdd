"""The gateway's scheduled work."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from services.terminals.adapters import requests as store


async def prune_nonces(pool: asyncpg.Pool, window_s: int) -> None:
    """Nonces older than twice the window can never be replayed (the timestamp check refuses)."""
    while True:
        await asyncio.sleep(60)
        # A failed prune is retried at the next tick.
        with contextlib.suppress(Exception):
            await store.prune_nonces(pool, 2 * window_s)
