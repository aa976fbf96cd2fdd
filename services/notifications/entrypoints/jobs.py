"""What the notifications service runs beside its routes and consumer: the sending job."""

from __future__ import annotations

import asyncio
import contextlib

from services.notifications.service import sending
from shared.service import Runtime


async def start(rt: Runtime) -> None:
    await sending.start(rt.pool, rt.settings, rt.state)


async def stop(rt: Runtime) -> None:
    """The sender settles what the provider already accepted before it stops."""
    task: asyncio.Task[None] | None = rt.state.get("sender")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
