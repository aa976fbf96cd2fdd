"""What the notifications service runs beside its routes and consumer: the sending job."""

from __future__ import annotations

from services.notifications.service import sending
from shared.service import Runtime


async def start(rt: Runtime) -> None:
    await sending.start(rt.pool, rt.settings, rt.state)


async def stop(rt: Runtime) -> None:
    """The sender finishes the messages in hand and writes their answers before it stops."""
    await sending.stop(rt.state, rt.settings.shutdown_grace_s)
