"""Group commit of terminal requests: concurrent requests share one database transaction that
records their nonces, the requests and their events (outbox), so the gateway's cost per sale
falls as load rises instead of each sale paying for its own commit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from services.terminals.adapters import requests as store
from services.terminals.adapters.requests import Existing
from shared import outbox
from shared.db import is_transient
from shared.events import Event

__all__ = ["Existing", "Intake", "Item", "Replay"]


class Replay:
    """The nonce was used before: a replayed request."""


@dataclass(slots=True)
class Item:
    kind: str
    request_id: UUID
    terminal_id: UUID
    nonce: str
    body_sha256: bytes
    event: Event[Any]
    done: asyncio.Future[Replay | Existing | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Intake:
    def __init__(self, pool: asyncpg.Pool, writers: int = 4, max_batch: int = 500) -> None:
        self.pool = pool
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.max_batch = max_batch
        self._tasks = [
            asyncio.create_task(self._writer(), name=f"intake-{i}") for i in range(writers)
        ]

    async def submit(self, item: Item) -> Replay | Existing | None:
        """None: recorded now (its event is in the outbox); Replay; or the request already known."""
        await self.queue.put(item)
        return await item.done

    async def _writer(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            for attempt in range(5):
                try:
                    results = await self._commit(batch)
                    break
                except Exception as exc:
                    if not is_transient(exc) or attempt == 4:
                        for item in batch:
                            if not item.done.done():
                                item.done.set_exception(exc)
                        results = None
                        break
                    await asyncio.sleep(0.05 * 2**attempt)
            if results is not None:
                for item, result in zip(batch, results, strict=True):
                    if not item.done.done():
                        item.done.set_result(result)

    async def _commit(self, batch: list[Item]) -> list[Replay | Existing | None]:
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await store.spend_nonces(conn, [(i.terminal_id, i.nonce) for i in batch])
            # A nonce is fresh for the first item that carries it only.
            live: list[Item] = []
            for i in batch:
                if (i.terminal_id, i.nonce) in fresh:
                    fresh.discard((i.terminal_id, i.nonce))
                    live.append(i)
            live_ids = {id(i) for i in live}
            inserted = await store.insert_requests(
                conn, [(i.request_id, i.kind, i.terminal_id, i.body_sha256) for i in live]
            )
            # The first of two items with one id in the same batch is new, the second is a retry.
            new: dict[UUID, Item] = {}
            for i in live:
                if i.request_id in inserted and i.request_id not in new:
                    new[i.request_id] = i
            known = await store.existing(
                conn, [i.request_id for i in live if new.get(i.request_id) is not i]
            )
            await outbox.write(conn, [i.event for i in new.values()])
        results: list[Replay | Existing | None] = []
        for i in batch:
            if id(i) not in live_ids:
                results.append(Replay())
            elif new.get(i.request_id) is i:
                results.append(None)
            else:
                results.append(known[i.request_id])
        return results
