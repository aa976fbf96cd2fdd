"""The shop's kiosk (F27, docs/kiosk.md): set up by the shop's manager, fed by the terminal
program's card reader (its key) or by a code the cardholder's space shows, and showing one
account's balance for a few seconds.

The kiosk's browser and its reader hold no one's scope: the portal calls the services for
them with short tokens of its own making, the narrowest that do the job: the shop's front
desk (machine, actor ``kiosk:<id>``) to find the card's account and the shop's offers, and
that one account's cardholder scope to read its balance and status at that moment."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.portal.adapters import kiosks as store
from services.portal.adapters import sessions as session_store
from services.portal.domain import kiosk as rules
from services.portal.domain.limits import retry_after
from services.portal.domain.sessions import digest
from services.portal.service import sessions
from services.portal.service.calls import Refused, call, ok
from services.portal.service.people import TooMany
from services.portal.service.state import Portal, new_secret
from shared import clock
from shared.access import Principal


@dataclass(frozen=True, slots=True)
class Kiosk:
    id: UUID
    association_id: UUID
    merchant_id: UUID

    @classmethod
    def of(cls, row: asyncpg.Record) -> Kiosk:
        return cls(row["id"], row["association_id"], row["merchant_id"])

    @property
    def actor(self) -> str:
        return f"kiosk:{self.id}"

    def desk(self) -> Principal:
        """The shop's front desk, as a machine: finds a card's account, reads the offers."""
        return Principal(
            actor=self.actor,
            role="staff",
            association_id=self.association_id,
            merchant_id=self.merchant_id,
            machine=True,
        )

    def reading(self, account_id: UUID) -> Principal:
        """That one account, nothing else: its balance and status, for this page's calls."""
        return Principal(
            actor=self.actor,
            role="cardholder",
            association_id=self.association_id,
            account_id=account_id,
            machine=True,
        )


@dataclass(frozen=True, slots=True)
class SetUp:
    kiosk: Kiosk
    cookie: str  # the kiosk page's cookie, set in the browser that asked
    key: str  # the reader's key, shown once


async def set_up(portal: Portal, manager: Principal) -> SetUp:
    """A new kiosk of the manager's shop."""
    if manager.role != "manager" or manager.merchant_id is None or manager.association_id is None:
        raise Refused(403, "out_of_scope")
    k = Kiosk(uuid.uuid4(), manager.association_id, manager.merchant_id)
    cookie, key = new_secret(), rules.KEY_PREFIX + new_secret()
    await store.add(
        portal.pool,
        k.id,
        k.association_id,
        k.merchant_id,
        digest(cookie),
        digest(key),
        manager.actor,
        clock.now(),
    )
    return SetUp(k, cookie, key)


async def listed(portal: Portal, manager: Principal) -> list[asyncpg.Record]:
    if manager.role != "manager" or manager.merchant_id is None:
        raise Refused(403, "out_of_scope")
    return await store.of_merchant(portal.pool, manager.merchant_id)


async def retire(portal: Portal, manager: Principal, kiosk_id: UUID) -> None:
    if manager.role != "manager" or manager.merchant_id is None:
        raise Refused(403, "out_of_scope")
    if not await store.revoke(portal.pool, kiosk_id, manager.merchant_id, clock.now()):
        raise Refused(404, "unknown_kiosk")


async def of_cookie(portal: Portal, cookie: str | None) -> Kiosk | None:
    if not cookie or len(cookie) > 100:
        return None
    row = await store.by_cookie(portal.pool, digest(cookie))
    return Kiosk.of(row) if row else None


async def of_key(portal: Portal, key: str) -> Kiosk | None:
    if not key.startswith(rules.KEY_PREFIX) or len(key) > 100:
        return None
    row = await store.by_key(portal.pool, digest(key))
    return Kiosk.of(row) if row else None


async def _get(portal: Portal, p: Principal, path: str, **params: str) -> Any:
    """A GET's body, or Refused (503 when the service cannot be reached)."""
    return ok(await call(portal.services, p, "GET", "cards", path, params=params or None))


async def present_card(portal: Portal, k: Kiosk, number: str) -> None:
    """The card the reader read: its account shown on the kiosk. Refused 404 ``unknown_card``
    when the network has no such live card (a blocked or replaced card shows nothing);
    TooMany when this kiosk's reader was given many unknown numbers lately (a key used to
    try numbers one after the other is slowed down; a shop's customers are not)."""
    unknown = f"kiosk-card:{k.id}"
    now = clock.now()
    limit = portal.address_limit
    tried = await session_store.failures(portal.pool, [unknown], now - limit.window)
    wait = retry_after(tried[unknown], limit, now)
    if wait is not None:
        raise TooMany(wait)
    account_id = await _live_card(portal, k, "".join(c for c in number if c.isdigit()))
    if account_id is None:
        await session_store.fail(portal.pool, [unknown], now)
        raise Refused(404, "unknown_card")
    await _show(portal, k, account_id)


async def _live_card(portal: Portal, k: Kiosk, digits: str) -> UUID | None:
    """The account of this live card of the kiosk's network, or None."""
    if not 8 <= len(digits) <= 32:
        return None
    try:
        found = await _get(
            portal, k.desk(), f"/v1/associations/{k.association_id}/accounts", card=digits
        )
    except Refused as exc:
        if exc.status in (400, 404, 409):
            return None
        raise
    account_id = UUID(str(found["id"]))
    detail = await _get(portal, k.reading(account_id), f"/v1/accounts/{account_id}")
    live = [c for c in detail.get("cards") or [] if c.get("number") == digits]
    return account_id if live and live[0].get("status") == "active" else None


async def _show(portal: Portal, k: Kiosk, account_id: UUID) -> None:
    now = clock.now()
    await store.show(
        portal.pool, k.id, account_id, now, rules.shown_until(now, portal.settings.kiosk_shown_s)
    )


async def type_code(portal: Portal, k: Kiosk, raw: str, client: str) -> None:
    """A code from a cardholder's space typed at the kiosk: its account shown. Refused 422
    ``wrong_code`` (a wrong, spent or expired code alike); TooMany after several wrong ones
    at this kiosk (a code is six digits: guessing must stay slow)."""
    key, where = f"kiosk:{k.id}", sessions.address_key(client)
    wait = await sessions.wait_before(portal, key, where)
    if wait is not None:
        raise TooMany(wait)
    code = rules.normal_code(raw)
    account_id = None
    if code is not None:
        account_id = await store.spend_code(
            portal.pool, rules.code_digest(k.association_id, code), clock.now()
        )
    if account_id is None:
        await sessions.failed(portal, key, where)
        raise Refused(422, "wrong_code")
    await sessions.succeeded(portal, key)
    await _show(portal, k, account_id)


async def shown_since(portal: Portal, k: Kiosk) -> datetime | None:
    """When the account on screen was presented; None when the kiosk waits."""
    row = await store.shown(portal.pool, k.id)
    if row is None or not rules.still_shown(row["shown_until"], clock.now()):
        return None
    since: datetime = row["shown_at"]
    return since


async def screen(portal: Portal, k: Kiosk) -> rules.Screen | None:
    """What the kiosk shows now: the account presented in the last seconds, or None."""
    row = await store.shown(portal.pool, k.id)
    if row is None:
        return None
    if not rules.still_shown(row["shown_until"], clock.now()):
        await store.clear(portal.pool, k.id)
        return None
    account_id: UUID = row["account_id"]
    holder = k.reading(account_id)
    parts: tuple[Any, ...] = await asyncio.gather(
        _get(portal, holder, f"/v1/accounts/{account_id}"),
        _get(portal, holder, f"/v1/accounts/{account_id}/levels"),
        _get(
            portal,
            k.desk(),
            f"/v1/associations/{k.association_id}/promotions",
            live_at=clock.now().isoformat(),
        ),
        return_exceptions=True,
    )
    account, levels, promotions = parts
    if isinstance(account, BaseException):
        raise account
    # the status and the offers are extras: the balance shows without them
    held = [] if isinstance(levels, BaseException) else levels["levels"]
    offers = (
        []
        if isinstance(promotions, BaseException)
        else rules.offers_here(promotions, k.merchant_id)
    )
    return rules.screen_of(account, held, offers, row["shown_until"])


async def clear(portal: Portal, k: Kiosk) -> None:
    await store.clear(portal.pool, k.id)


async def new_code(portal: Portal, holder: Principal) -> str:
    """A code for the holder to type at a kiosk of their network (their last one replaced)."""
    if holder.role != "cardholder" or holder.account_id is None or holder.association_id is None:
        raise Refused(403, "out_of_scope")
    now = clock.now()
    for _ in range(10):  # another account's live code with the same digits: draw again
        code = rules.new_code()
        async with portal.pool.acquire() as conn, conn.transaction():
            if await store.put_code(
                conn,
                holder.account_id,
                holder.association_id,
                rules.code_digest(holder.association_id, code),
                now,
                now + rules.CODE_LIFETIME,
            ):
                return code
    raise Refused(503, "no_code")
