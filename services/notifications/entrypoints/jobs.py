"""What the notifications service runs beside its routes and consumers: the sending job and
the webhooks' delivery job."""

from __future__ import annotations

from services.notifications.service import sending, webhook_delivery
from shared.service import Runtime


async def start(rt: Runtime) -> None:
    await sending.start(rt.pool, rt.settings, rt.state)
    await webhook_delivery.start(rt.pool, rt.settings, rt.state)


async def stop(rt: Runtime) -> None:
    """The sender finishes the messages in hand and writes their answers before it stops; the
    webhooks' job the POSTs in hand."""
    await webhook_delivery.stop(rt.state, rt.settings.shutdown_grace_s)
    await sending.stop(rt.state, rt.settings.shutdown_grace_s)
