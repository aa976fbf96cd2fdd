"""The clearing service's scheduled work: the end-of-month close (hourly) and the
reconciliation, stopped with the process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from services.clearing.service import closing, reconciling
from shared import logging as log
from shared.service import Runtime

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


async def start(rt: Runtime) -> None:
    """The end-of-month close and the reconciliation job, stopped with the process."""
    s = rt.settings
    jobs = []
    if s.close_after_hours > 0:

        async def close_due() -> int:
            return await closing.close_due(rt.pool, s.close_after_hours)

        jobs.append(_every(rt, CLOSE_CHECK_S, close_due))
    if s.reconcile_every_s > 0:

        async def reconcile() -> object:
            return await reconciling.run(rt)

        jobs.append(_every(rt, s.reconcile_every_s, reconcile))
    rt.state["clearing_jobs"] = [asyncio.create_task(j) for j in jobs]
