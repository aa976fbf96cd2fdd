"""People: creation (within the creator's reach), sign-in with a password, and the single-use
links that create or reset a password (docs/access.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from uuid import UUID

import asyncpg

from services.portal.adapters import messages
from services.portal.adapters import people as store
from services.portal.adapters import sessions as session_store
from services.portal.domain.association import Known, person_of
from services.portal.domain.people import Scope, may_create_person
from services.portal.domain.sessions import digest, usable_until
from services.portal.service import sessions
from services.portal.service.state import Portal, new_secret
from shared import clock
from shared.access import Principal
from shared.http import Problem

Language = Literal["fr", "en"]
MIN_PASSWORD = 12
MAX_PASSWORD = 256


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_id: str
    principal: Principal


class TooMany(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def person_principal(row: asyncpg.Record) -> Principal:
    return Scope(row["role"], row["association_id"], row["merchant_id"]).principal(
        f"person:{row['id']}"
    )


async def create(
    portal: Portal,
    creator: Principal,
    person_id: UUID,
    email: str,
    name: str,
    scope: Scope,
    language: Language,
) -> tuple[asyncpg.Record, str | None]:
    """The person (created, and sent the link that sets their password) and that link, None
    when the person was there already; 403 out of the creator's reach, 409 an id or e-mail
    already another's."""
    if not may_create_person(creator, scope):
        raise Problem(
            403,
            "Forbidden",
            f"a {creator.role} may not create a {scope.role} here",
            reason="out_of_scope",
        )
    await known_scope(portal, scope)
    async with portal.pool.acquire() as conn, conn.transaction():
        row = await store.insert(
            conn,
            person_id,
            email,
            name,
            (scope.role, scope.association_id, scope.merchant_id),
            creator.actor,
            clock.now(),
        )
        if row is None:
            old = await store.get(conn, person_id)
            assert old is not None
            same = (old["email"], old["name"], old["role"], old["association_id"]) == (
                email,
                name,
                scope.role,
                scope.association_id,
            ) and old["merchant_id"] == scope.merchant_id
            if not same:
                raise Problem(409, "Conflict", "this id is another person's", reason="conflict")
            return old, None
        url = await _send_link(portal, conn, row, "create", language)
    return row, url


async def known_scope(portal: Portal, scope: Scope) -> None:
    """422 ``unknown_scope`` unless cards knows the scope's association and merchant."""
    if not await portal.services.scope_exists(scope.association_id, scope.merchant_id):
        raise Problem(
            422,
            "Unknown scope",
            "cards knows no such association, or no such merchant in it",
            reason="unknown_scope",
        )


async def _send_link(
    portal: Portal,
    conn: asyncpg.Connection,
    person: asyncpg.Record,
    purpose: Literal["create", "reset"],
    language: Language,
) -> str:
    token = new_secret()
    url = f"{portal.settings.portal_url.rstrip('/')}/password/{token}"
    now = clock.now()
    await store.add_link(
        conn,
        digest(token),
        person["id"],
        purpose,
        now,
        now + timedelta(seconds=portal.settings.password_link_s),
    )
    await messages.request(
        conn,
        "email",
        person["email"],
        "portal_password_link",
        {
            "name": person["name"],
            "url": url,
            "reset": purpose == "reset",
            "hours": portal.settings.password_link_s // 3600,
        },
        language,
        person["association_id"],
        person["merchant_id"],
    )
    return url


async def listed(portal: Portal, p: Principal) -> list[asyncpg.Record]:
    """The people ``p`` may create (and so see), and ``p`` themselves."""
    rows = await store.in_scope(
        portal.pool, None if p.is_operator else p.association_id, p.merchant_id
    )
    return [
        r
        for r in rows
        if f"person:{r['id']}" == p.actor
        or may_create_person(p, Scope(r["role"], r["association_id"], r["merchant_id"]))
    ]


async def request_reset(portal: Portal, email: str, language: Language) -> str | None:
    """A reset link e-mailed to this address if a person has it (the page says nothing either
    way; the link for the CLI)."""
    async with portal.pool.acquire() as conn, conn.transaction():
        person = await store.by_email(conn, email)
        if person is None:
            return None
        return await _send_link(portal, conn, person, "reset", language)


async def link_person(portal: Portal, token: str) -> asyncpg.Record | None:
    """The person a usable link is for, or None (unknown, used, expired)."""
    if len(token) > 100:
        return None
    row = await store.link(portal.pool, digest(token))
    if row is None or not usable_until(row["expires_at"], row["used_at"] is not None, clock.now()):
        return None
    return row


async def set_password(portal: Portal, token: str, password: str) -> UUID | None:
    """Set the password through a link: the link and every other open one are spent, every
    session of the person revoked. None: the link is not usable (used, expired, unknown)."""
    password_hash = await portal.hash_password(password)
    now = clock.now()
    async with portal.pool.acquire() as conn, conn.transaction():
        row = await store.link(conn, digest(token))
        if row is None or not usable_until(row["expires_at"], row["used_at"] is not None, now):
            return None
        await _replace_password(conn, row["person_id"], password_hash)
    return UUID(str(row["person_id"]))


async def force_password(portal: Portal, person_id: UUID, password: str) -> bool:
    """The operator's bootstrap (admin token): set a password without a link."""
    password_hash = await portal.hash_password(password)
    async with portal.pool.acquire() as conn, conn.transaction():
        if await store.get(conn, person_id) is None:
            return False
        await _replace_password(conn, person_id, password_hash)
    return True


async def _replace_password(conn: asyncpg.Connection, person_id: UUID, password_hash: str) -> None:
    now = clock.now()
    await store.set_password(conn, person_id, password_hash, now)
    await store.spend_links(conn, person_id, now)
    # A password changed because it leaked ends the sessions opened with it.
    await session_store.revoke_person(conn, person_id, now)


async def sign_in(
    portal: Portal, email: str, password: str, address: str, language: str
) -> SignedIn | None:
    """A session for the right password; None for a wrong one (or an unknown e-mail, which
    takes as long); TooMany past the rate limit, before the password is even checked."""
    account = sessions.account_key(email)
    where = sessions.address_key(address)
    wait = await sessions.wait_before(portal, account, where)
    if wait is not None:
        raise TooMany(wait)
    person = await store.by_email(portal.pool, email)
    stored = person["password_hash"] if person is not None else None
    right = await portal.check_password(stored, password)  # an unknown e-mail takes as long
    if person is None or not right:
        await sessions.failed(portal, account, where)
        return None
    await sessions.succeeded(portal, account)
    assert stored is not None  # the right password of a person who has one
    if portal.hasher.check_needs_rehash(stored):
        await store.rehash(portal.pool, person["id"], stored, await portal.hash_password(password))
    p = person_principal(person)
    session_id = await sessions.open_session(portal, p, person["id"], person["name"], language)
    return SignedIn(session_id, p)


async def known(portal: Portal, actors: Iterable[str | None]) -> dict[UUID, Known]:
    """The people these actors name (``person:<id>``), as far as the portal knows them."""
    ids = sorted({pid for a in actors if (pid := person_of(a)) is not None})
    if not ids:
        return {}
    rows = await store.named(portal.pool, ids)
    return {r["id"]: Known(r["name"], r["role"], r["association_id"]) for r in rows}
