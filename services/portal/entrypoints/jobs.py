"""The portal's daily clean-up: expired sessions, failures, codes and links are deleted
(idempotent: two replicas may both run it)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from services.portal.adapters import kiosks
from services.portal.adapters import sessions as store
from services.portal.service.state import Portal
from shared import clock
from shared import logging as log

EVERY_S = 3600.0
# Kept a day past their end: a support question about yesterday's sign-in finds them.
KEPT = timedelta(days=1)


async def prune(portal: Portal, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        try:
            await store.prune(portal.pool, clock.now() - KEPT)
            # what a kiosk showed names an account: gone as soon as it is off the screen
            await kiosks.prune(portal.pool, clock.now())
        except Exception as exc:  # retried at the next pass
            log.get("jobs").warning("prune_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), EVERY_S)
