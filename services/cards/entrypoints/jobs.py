"""The cards service's background jobs, started when the service is ready: the merchants'
registrations caught up once at start, and the terminal parameters published whenever the
rules' version moves."""

from __future__ import annotations

import asyncio

from services.cards.service import publication, registrations
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


async def on_ready(rt: Runtime) -> None:
    """``ServiceSpec.on_ready``."""
    await start_registrations(rt)
    await start_publication(rt)
