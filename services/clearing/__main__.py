"""The clearing service: the compte pivot between the shops of an association."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from services.clearing import api, books, books_api, handlers, reconciliation
from shared import logging as log
from shared.contracts import (
    AccountAdjusted,
    AccountOpened,
    CagnotteCredited,
    CagnotteRedeemed,
    CardIssued,
    CardTransactionsBooked,
    MerchantRegistered,
    RewardReversed,
)
from shared.service import Runtime, ServiceSpec, Subscriptions, always, main

assert books_api  # its routes register on api.api when imported
CLOSE_CHECK_S = 3600.0


async def _every(rt: Runtime, seconds: float, work: Callable[[], Awaitable[object]]) -> None:
    logger = log.get("clearing")
    while not rt.stopping:
        await asyncio.sleep(seconds)
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: the next tick tries again
            logger.warning("background_work_failed", work=work.__name__, error=repr(exc))


async def on_ready(rt: Runtime) -> None:
    """The end-of-month close and the reconciliation job, stopped with the process."""
    s = rt.settings
    jobs = []
    if s.close_after_hours > 0:

        async def close_due() -> int:
            return await books.close_due(rt.pool, s.close_after_hours)

        jobs.append(_every(rt, CLOSE_CHECK_S, close_due))
    if s.reconcile_every_s > 0:

        async def reconcile() -> object:
            return await reconciliation.run(rt)

        jobs.append(_every(rt, s.reconcile_every_s, reconcile))
    rt.state["clearing_jobs"] = [asyncio.create_task(j) for j in jobs]


SPEC = ServiceSpec(
    name="clearing",
    migrations=Path(__file__).parent / "migrations",
    routes=api.routes,
    subscriptions=Subscriptions(
        "clearing.events",
        {
            CagnotteCredited: always(handlers.on_credited),
            CagnotteRedeemed: always(handlers.on_redeemed),
            RewardReversed: always(handlers.on_reversed),
            AccountAdjusted: always(handlers.on_adjusted),
            CardTransactionsBooked: always(handlers.on_card_booked),
            MerchantRegistered: always(handlers.on_merchant),
            AccountOpened: always(handlers.on_holder),
            CardIssued: always(handlers.on_holder),
        },
    ),
    on_ready=on_ready,
)

if __name__ == "__main__":
    main(SPEC)
