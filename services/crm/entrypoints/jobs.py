"""crm's scheduled work, on one mechanism (``service.daily``): the retention purge (GDPR), the
daily triggers (birthdays, not seen for X months, visits spacing out) and the monthly
newsletters, checked at start and every ``daily_check_s``; each day of each job runs once
whatever the restarts or replicas, and a missed day is caught up. Beside them, the campaign
job: the one-off campaigns asked for (``POST /v1/campaigns/{id}/send``), sent in batches; and
the statistics' roll-up, every ``statistics_roll_up_s``."""

from __future__ import annotations

import asyncio
import contextlib

from services.crm.adapters.vouchers import Vouchers
from services.crm.service import campaigns, rights, statistics, triggers
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


WAKE = "campaigns_asked"


async def _campaigns(rt: Runtime) -> None:
    """At start (what a crash left unfinished), when this replica was asked to send, and every
    ``campaign_poll_s`` (what another replica was asked, or left when it died)."""
    logger = log.get("crm")
    links, wake = Links.of(rt.settings), rt.state[WAKE]
    while not rt.stopping:
        wake.clear()
        try:
            done = await campaigns.send_asked(rt.pool, links, rt.settings.campaign_batch)
            for campaign_id, asked in done.items():
                if asked is not None:
                    logger.info("campaign_sent", campaign=str(campaign_id), asked=asked)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: the next pass goes on where it stopped
            logger.warning("campaigns_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), rt.settings.campaign_poll_s)


async def _statistics(rt: Runtime) -> None:
    """The statistics' roll-up, every ``statistics_roll_up_s``: the facts crm.events recorded
    added to the sums (one roll-up at a time across replicas: an advisory lock)."""
    logger = log.get("crm")
    while not rt.stopping:
        try:
            await statistics.catch_up(rt.pool)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: the facts wait for the next pass
            logger.warning("statistics_roll_up_failed", error=repr(exc))
        await asyncio.sleep(rt.settings.statistics_roll_up_s)


def campaign_asked(rt: Runtime) -> None:
    """The campaign job of this replica looks now."""
    wake: asyncio.Event | None = rt.state.get(WAKE)
    if wake is not None:
        wake.set()


async def start(rt: Runtime) -> None:
    """The campaign job, the statistics' roll-up, and the daily jobs unless ``daily_check_s``
    is 0 (the retention also off when ``retention_days`` is 0)."""
    rt.state[WAKE] = asyncio.Event()
    rt.state["crm_jobs"] = [
        asyncio.create_task(_campaigns(rt), name="campaigns"),
        asyncio.create_task(_statistics(rt), name="statistics"),
    ]
    if rt.settings.daily_check_s > 0:
        rt.state["crm_jobs"].append(asyncio.create_task(_daily(rt), name="daily"))


async def stop(rt: Runtime) -> None:
    """Before the pool closes: a batch cut here is rolled back, and done again by the next
    pass (each batch is one transaction)."""
    for task in rt.state.get("crm_jobs", []):
        task.cancel()
    for task in rt.state.get("crm_jobs", []):
        with contextlib.suppress(asyncio.CancelledError):
            await task
