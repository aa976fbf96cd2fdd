"""crm's scheduled work, on one mechanism (``service.daily``): the retention purge (GDPR), the
daily triggers (birthdays, not seen for X months, visits spacing out) and the monthly
newsletters, checked at start and every ``daily_check_s``; each day of each job runs once
whatever the restarts or replicas, and a missed day is caught up."""

from __future__ import annotations

import asyncio

from services.crm.adapters.vouchers import Vouchers
from services.crm.service import campaigns, rights, triggers
from services.crm.service.common import Links
from shared import clock
from shared import logging as log
from shared.service import Runtime


async def _daily(rt: Runtime) -> None:
    logger = log.get("crm")
    links, vouchers = Links.of(rt.settings), Vouchers(rt.settings)
    while not rt.stopping:
        today = clock.today_paris()
        try:
            if rt.settings.retention_days > 0:
                done = await rights.retention_due(rt.pool, today, rt.settings.retention_days)
                for day, erased in done.items():
                    if erased is not None:
                        logger.info("retention_done", day=day.isoformat(), erased=erased)
            for trigger_id, days in (
                await triggers.run_due(rt.pool, links, vouchers, today)
            ).items():
                for day, sent in days.items():
                    if sent is not None:
                        logger.info(
                            "trigger_done", trigger=str(trigger_id), day=day.isoformat(), sent=sent
                        )
            for campaign_id, days in (await campaigns.run_due(rt.pool, links, today)).items():
                for day, sent in days.items():
                    if sent:
                        logger.info(
                            "newsletter_sent",
                            campaign=str(campaign_id),
                            day=day.isoformat(),
                            sent=sent,
                        )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database or cards away: the next check tries again
            logger.warning("daily_failed", error=repr(exc))
        await asyncio.sleep(rt.settings.daily_check_s)


async def start(rt: Runtime) -> None:
    """The daily jobs, unless ``daily_check_s`` is 0 (the retention also off when
    ``retention_days`` is 0)."""
    if rt.settings.daily_check_s > 0:
        rt.state["crm_jobs"] = [asyncio.create_task(_daily(rt))]
