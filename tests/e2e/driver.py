"""A till that never gives up: posts sales, retries with the same id after errors, polls pending."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from shared.client import Reply, TerminalClient


@dataclass
class Sale:
    sale_id: str
    terminal: TerminalClient
    phone: str
    amount_cents: int
    answer: Reply | None = None
    attempts: int = 0


@dataclass
class Driver:
    concurrency: int = 32
    errors: list[str] = field(default_factory=list)

    async def post_until_decided(self, sale: Sale, deadline_s: float = 120) -> Reply:
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        while loop.time() < end:
            sale.attempts += 1
            try:
                r = await sale.terminal.sale(sale.phone, sale.amount_cents, sale_id=sale.sale_id)
                while r.status == 202 and loop.time() < end:
                    await asyncio.sleep(0.2)
                    r = await sale.terminal.request("GET", f"/v1/sales/{sale.sale_id}")
                if r.status in (201, 422):
                    sale.answer = r
                    return r
                self.errors.append(f"{r.status}")
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
                self.errors.append(type(exc).__name__)
            await asyncio.sleep(0.2)
        raise AssertionError(f"sale {sale.sale_id} never decided after {sale.attempts} attempts")

    async def run(self, sales: list[Sale]) -> list[Reply]:
        sem = asyncio.Semaphore(self.concurrency)

        async def one(s: Sale) -> Reply:
            async with sem:
                return await self.post_until_decided(s)

        return await asyncio.gather(*(one(s) for s in sales))


def make_sales(
    terminals: list[TerminalClient], n: int, customers: int = 50, amount: Any = None
) -> list[Sale]:
    return [
        Sale(
            str(uuid.uuid4()),
            terminals[i % len(terminals)],
            f"+3362{i % customers:07d}",
            amount(i) if amount else 1000 + (i % 97) * 13,
        )
        for i in range(n)
    ]
