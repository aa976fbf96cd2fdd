"""Opening, reading and closing a session (docs/access.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

from services.portal.adapters import sessions as store
from services.portal.domain.limits import retry_after, strictest
from services.portal.domain.sessions import SessionTimes, alive, digest, needs_touch
from services.portal.service.state import Portal, new_secret
from shared import clock
from shared.access import Principal


@dataclass(frozen=True, slots=True)
class Session:
    """A live session as a request sees it."""

    id_hash: bytes
    principal: Principal
    person_id: UUID | None
    label: str
    csrf: str
    language: str


async def open_session(
    portal: Portal, p: Principal, person_id: UUID | None, label: str, language: str
) -> str:
    """A new session for ``p``; its id, for the cookie (the database keeps its hash)."""
    session_id = new_secret()
    now = clock.now()
    await store.insert(
        portal.pool,
        digest(session_id),
        p,
        person_id,
        label,
        new_secret(),
        language,
        now,
        now + portal.lifetimes.absolute,
    )
    return session_id


async def current(portal: Portal, session_id: str | None) -> Session | None:
    """The live session of this cookie, or None (unknown, expired, revoked)."""
    if not session_id or len(session_id) > 100:
        return None
    id_hash = digest(session_id)
    row = await store.get(portal.pool, id_hash)
    if row is None:
        return None
    now = clock.now()
    times = SessionTimes(row["created_at"], row["last_seen_at"], row["expires_at"], row["revoked"])
    if not alive(times, portal.lifetimes, now):
        return None
    if needs_touch(times, now):
        await store.touch(portal.pool, id_hash, now)
    p = Principal(
        actor=row["actor"],
        role=row["role"],
        association_id=row["association_id"],
        merchant_id=row["merchant_id"],
        account_id=row["account_id"],
    )
    return Session(id_hash, p, row["person_id"], row["label"], row["csrf"], row["language"])


async def close(portal: Portal, session: Session) -> None:
    await store.revoke(portal.pool, session.id_hash, clock.now())


# --- the sign-in rate limit ---------------------------------------------------------------


def account_key(identifier: str) -> str:
    """The rate limit's key of an account: a hash, not the address itself."""
    return "account:" + hashlib.sha256(identifier.strip().lower().encode()).hexdigest()


def address_key(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


async def wait_before(portal: Portal, account: str, address: str) -> int | None:
    """Seconds before this account may try again from this address, or None."""
    now = clock.now()
    found = await store.failures(portal.pool, [account, address], now - portal.account_limit.window)
    return strictest(
        [
            retry_after(found[account], portal.account_limit, now),
            retry_after(found[address], portal.address_limit, now),
        ]
    )


async def wait_to_send(portal: Portal, account: str, address: str) -> int | None:
    """Seconds before another code may be sent to this account or from this address: codes
    cost an SMS each and land in someone's phone, so they are limited like failures."""
    sent_to, sent_from = f"send:{account}", f"send:{address}"
    now = clock.now()
    found = await store.failures(
        portal.pool, [sent_to, sent_from], now - portal.account_limit.window
    )
    wait = strictest(
        [
            retry_after(found[sent_to], portal.account_limit, now),
            retry_after(found[sent_from], portal.address_limit, now),
        ]
    )
    if wait is None:
        await store.fail(portal.pool, [sent_to, sent_from], now)
    return wait


async def failed(portal: Portal, account: str, address: str) -> None:
    await store.fail(portal.pool, [account, address], clock.now())


async def succeeded(portal: Portal, account: str) -> None:
    await store.forgive(portal.pool, account)
