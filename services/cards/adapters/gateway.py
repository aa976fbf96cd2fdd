"""The terminal gateway, as the cards service asks it (HTTP, with the admin token)."""

from __future__ import annotations

from uuid import UUID

import aiohttp

from shared import peers
from shared.service import Runtime


async def acknowledged(rt: Runtime) -> list[tuple[UUID, UUID, int]]:
    """(terminal, association, committed lines) of every terminal the gateway knows."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(
            f"{rt.settings.terminals_url}/v1/sync/registry",
            headers=peers.headers(rt.settings),
        ) as r,
    ):
        r.raise_for_status()
        entries = await r.json()
    return [
        (UUID(e["terminal_id"]), UUID(e["association_id"]), int(e["committed_total"]))
        for e in entries
    ]
