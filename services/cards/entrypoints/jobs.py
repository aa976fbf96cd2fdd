"""The cards service's background jobs, started when the service is ready: the merchants'
registrations caught up once at start, the terminal parameters published whenever the
rules' version moves, and the daily review of the customers' status levels (at start and every
``daily_check_s``; each day once whatever the replicas, a missed day caught up)."""

from __future__ import annotations

import asyncio

from services.cards.service import levels, publication, registrations
from shared import clock
from shared import logging as log
from shared.service import Runtime

RETRY_S = 1.0
CHECK_EVERY_S = 1.0


async def _catch_up(rt: Runtime) -> None:
    logger = log.get("registrations")
    while not rt.stopping:
        try:
            n = await registrations.catch_up(rt.pool)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: try again
            logger.warning("merchant_registrations_failed", error=repr(exc))
            await asyncio.sleep(RETRY_S)
            continue
        if n:
            logger.info("merchants_registered", merchants=n, at_start=True)
        return


async def start_registrations(rt: Runtime) -> None:
    """Part of ``ServiceSpec.on_ready``: the catch-up at start, in the background."""
    task = asyncio.create_task(_catch_up(rt), name="merchant-registrations")
    rt.state["registrations_task"] = task
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())


async def publish_parameters(rt: Runtime) -> None:
    logger = log.get("parameters")
    force = True
    while not rt.stopping:
        try:
            async with rt.pool.acquire() as conn:
                n = await publication.publish(conn, force)
            if n:
                logger.info("terminal_parameters_published", merchants=n, at_start=force)
            force = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: try again at the next tick
            logger.warning("terminal_parameters_failed", error=repr(exc))
        await asyncio.sleep(CHECK_EVERY_S)


async def start_publication(rt: Runtime) -> None:
    """Part of ``ServiceSpec.on_ready``: the publishing task, stopped with the process."""
    task = asyncio.create_task(publish_parameters(rt), name="terminal-parameters")
    rt.state["parameters_task"] = task
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())


async def review_levels(rt: Runtime) -> None:
    logger = log.get("levels")
    while not rt.stopping:
        try:
            done = await levels.review_due(rt.pool, clock.today_paris())
            for (association_id, day), changes in done.items():
                if changes is not None:
                    logger.info(
                        "levels_reviewed",
                        association=str(association_id),
                        day=day.isoformat(),
                        changes=changes,
                    )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: the next check tries again
            logger.warning("levels_review_failed", error=repr(exc))
        await asyncio.sleep(rt.settings.daily_check_s)


async def start_level_reviews(rt: Runtime) -> None:
    """Part of ``ServiceSpec.on_ready``, unless ``daily_check_s`` is 0 (the test suite reviews
    the days it chooses, ``POST /v1/associations/{id}/level-reviews/{day}``)."""
    if rt.settings.daily_check_s > 0:
        task = asyncio.create_task(review_levels(rt), name="level-reviews")
        rt.state["levels_task"] = task
        task.add_done_callback(lambda t: None if t.cancelled() else t.exception())


async def on_ready(rt: Runtime) -> None:
    """``ServiceSpec.on_ready``."""
    await start_registrations(rt)
    await start_publication(rt)
    await start_level_reviews(rt)
