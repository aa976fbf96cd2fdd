"""The sending job: claims what is due, renders it, hands it to the provider within its rate,
and settles each message with the provider's answer (sent, again later, failed).

Safe with several replicas: a claim takes rows with ``FOR UPDATE SKIP LOCKED`` and marks them
``sending`` with a lease, in its own short transaction, so no two senders hold the same message
and no transaction stays open during an SMTP conversation. A message is settled as soon as the
provider answered (a flusher writes the answers of the last milliseconds in one statement).
A sender that dies between the provider's acceptance and that write leaves the message
``sending``: when the lease runs out it is sent again, with the same ``Message-ID`` (the only
duplicate this design allows; docs/messages.md, "The SMTP window")."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import aiohttp
import asyncpg

from services.notifications.adapters import attachments
from services.notifications.adapters import messages as store
from services.notifications.adapters.kannel import Kannel
from services.notifications.adapters.smtp import BadHeader, SmtpPool, build, sign
from services.notifications.domain import hours, sms
from services.notifications.domain.messages import Answer, after, claim_size, refused
from services.notifications.service import rate_limit, rendering
from services.notifications.service.messages import publish_settled
from services.notifications.service.notices import settle_notices
from shared import clock
from shared import logging as log
from shared.service import wind_down
from shared.settings import Settings

# Passes at once: while one claims its batch (a transaction) and writes its answers, the
# other's messages keep the connections busy (SKIP LOCKED: they never claim the same one).
PASSES = 2


class Outcome(NamedTuple):
    message_id: UUID
    status: str
    due_at: datetime | None
    provider_id: str | None
    reason: str | None
    segments: int | None


class Sender:
    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.pool = pool
        self.s = settings
        self.smtp = SmtpPool(settings)
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.kannel = Kannel(settings, self.http)
        self.limits = rate_limit.limits(pool, settings)  # shared by the replicas
        self.sms_slots = asyncio.Semaphore(8)
        self.email_slots = asyncio.Semaphore(settings.smtp_pool_size)
        self.done: list[Outcome] = []
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.log = log.get("sending")
        rates = {"email": settings.smtp_rate_per_s, "sms": settings.sms_rate_per_s}
        self.claim_sizes = {
            channel: claim_size(settings.send_batch, rate, settings.send_lease_s, PASSES)
            for channel, rate in rates.items()
        }

    async def run(self) -> None:
        """Until stopped: PASSES loops of a pass per channel, a short sleep when nothing was
        due. A stop lets the passes in hand finish (their messages' answers written), so a
        graceful restart sends nothing twice; a cancel (past the grace) leaves the SMTP
        window."""
        flusher = asyncio.create_task(self._flush_forever(), name="settle-messages")
        try:
            await asyncio.gather(*(self._passes() for _ in range(PASSES)))
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await self.flush()
            await self.smtp.close()
            await self.http.close()

    async def _passes(self) -> None:
        while not self.stopping.is_set():
            busy = False
            for channel in ("email", "sms"):
                try:
                    busy |= await self.one_pass(channel) > 0
                except (asyncpg.PostgresError, OSError) as exc:
                    self.log.warning("sending_pass_failed", channel=channel, error=repr(exc))
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), self.s.send_poll_s)

    async def one_pass(self, channel: str) -> int:
        now = clock.now()
        lease = now + timedelta(seconds=self.s.send_lease_s)
        async with self.pool.acquire() as conn, conn.transaction():
            batch = await store.claim(conn, channel, now, lease, self.claim_sizes[channel])
        if batch:
            await asyncio.gather(*(self._one(m) for m in batch))
            await self.flush()
        return len(batch)

    async def _one(self, m: store.StoredMessage) -> None:
        try:
            if m.channel == "email":
                # rendered when a connection is free: a whole batch rendered at once held the
                # event loop (and every connection's replies) for tens of milliseconds
                async with self.email_slots:
                    answer, segments = await self._email(m), None
            else:
                deferred = self._outside_hours(m)
                if deferred is not None:
                    self._done(
                        Outcome(
                            m.message_id, "deferred", deferred, None, "marketing SMS hours", None
                        )
                    )
                    return
                answer, segments = await self._sms(m)
        except (rendering.Unrenderable, BadHeader) as exc:
            answer, segments = refused(str(exc), temporary=False), None
        except attachments.Unavailable as exc:
            answer, segments = refused(f"attachment: {exc}", exc.temporary), None
        first = timedelta(seconds=self.s.send_retry_s)
        nxt = after(answer, m.attempts, self.s.send_max_attempts, clock.now(), first)
        self._done(
            Outcome(m.message_id, nxt.status, nxt.due_at, nxt.provider_id, nxt.reason, segments)
        )

    def _outside_hours(self, m: store.StoredMessage) -> datetime | None:
        """A marketing SMS retried into the night waits for the morning, like a new one."""
        if m.category != "marketing":
            return None
        now = clock.now()
        allowed = hours.next_allowed(now)
        return allowed if allowed > now else None

    async def _email(self, m: store.StoredMessage) -> Answer:
        words = rendering.email(m.template, m.language, m.variables, m.unsubscribe_url)
        files = [await attachments.download(self.http, self.s, a) for a in m.attachments]
        msg = build(
            self.s,
            m.message_id,
            m.recipient,
            words.subject,
            words.text,
            words.html,
            m.unsubscribe_url,
            files,
        )
        raw = sign(self.s, msg)
        await self.limits["email"].take()
        return await self.smtp.send(_address(self.s.mail_from), m.recipient, raw)

    async def _sms(self, m: store.StoredMessage) -> tuple[Answer, int]:
        text = rendering.sms(m.template, m.language, m.variables, m.category == "marketing")
        parts = sms.segments(text)
        async with self.sms_slots:
            await self.limits["sms"].take()
            answer = await self.kannel.send(
                m.message_id, m.recipient, text, parts.encoding == "ucs2"
            )
        return answer, parts.parts

    def _done(self, outcome: Outcome) -> None:
        self.done.append(outcome)
        self.wake.set()

    async def _flush_forever(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            await self.flush()
            # the answers of the next few milliseconds in one write
            await asyncio.sleep(self.s.send_settle_s)

    async def flush(self) -> None:
        if not self.done:
            return
        batch, self.done = self.done, []
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await store.settle(conn, batch, clock.now())
            await settle_notices(conn, rows)
            await publish_settled(conn, rows)


def _address(mail_from: str) -> str:
    """The envelope sender: the address of ``Name <address>``."""
    return mail_from.rsplit("<", 1)[-1].rstrip(">").strip()


async def start(pool: asyncpg.Pool, settings: Settings, state: dict[str, Any]) -> None:
    sender = Sender(pool, settings)
    state["sender"] = sender
    state["sender_task"] = asyncio.create_task(sender.run(), name="sender")


async def stop(state: dict[str, Any], grace_s: float) -> None:
    """Let the pass in hand finish within ``grace_s``; past it, cancel (the leases bring its
    work back)."""
    sender: Sender | None = state.get("sender")
    if sender is not None:
        await wind_down(sender.stopping, state.get("sender_task"), grace_s)
