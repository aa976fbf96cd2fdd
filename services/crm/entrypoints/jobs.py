"""crm's scheduled work: the daily retention purge (GDPR), checked at start and every hour;
each day runs once whatever the restarts or replicas, and a missed day is caught up."""

from __future__ import annotations

import asyncio

from services.crm.service import rights
from shared import clock
from shared import logging as log
from shared.service import Runtime

CHECK_S = 3600.0


async def _retention(rt: Runtime) -> None:
    logger = log.get("crm")
    while not rt.stopping:
        try:
            done = await rights.retention_due(
                rt.pool, clock.today_paris(), rt.settings.retention_days
            )
            for day, erased in done.items():
                if erased is not None:
                    logger.info("retention_done", day=day.isoformat(), erased=erased)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: the next check tries again
            logger.warning("retention_failed", error=repr(exc))
        await asyncio.sleep(CHECK_S)


async def start(rt: Runtime) -> None:
    """The retention job, unless retention is off (``retention_days`` 0)."""
    if rt.settings.retention_days > 0:
        rt.state["crm_jobs"] = [asyncio.create_task(_retention(rt))]
