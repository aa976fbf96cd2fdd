"""A cardholder signs in with a one-time code sent by e-mail or SMS (docs/access.md).

The portal finds the account through cards (its address in the association); whether one was
found or not, the answer is the same challenge, so that the page tells nobody who holds a
card. A code is six digits, lives minutes, is spent by its first right entry or after a few
wrong ones; the rate limit of the sign-in counts the wrong ones too."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from uuid import UUID

from services.portal.adapters import credentials as store
from services.portal.adapters import messages
from services.portal.domain.sessions import (
    CODE_DIGITS,
    CODE_MAX_ATTEMPTS,
    code_digest,
    same,
    usable_until,
)
from services.portal.service import sessions
from services.portal.service.people import SignedIn, TooMany
from services.portal.service.state import Portal
from shared import clock
from shared.access import Principal
from shared.rules.phone import normalise

Channel = Literal["email", "sms"]


@dataclass(frozen=True, slots=True)
class Address:
    channel: Channel
    value: str  # an e-mail, lower-cased, or an E.164 number


def parse_address(raw: str) -> Address | None:
    """An e-mail or a phone number, as cards keys them; None for neither."""
    raw = raw.strip()
    if "@" in raw:
        email = raw.lower()
        return Address("email", email) if 3 <= len(email) <= 254 and " " not in email else None
    try:
        return Address("sms", normalise(raw))
    except ValueError:
        return None


async def send_code(
    portal: Portal,
    association_id: UUID,
    address: Address,
    language: Literal["fr", "en"],
    client: str,
) -> UUID:
    """The challenge to enter the code against; a code sent if an account has the address.
    TooMany when this address was sent too many codes lately, or this client asked too many."""
    wait = await sessions.wait_to_send(
        portal, sessions.account_key(address.value), sessions.address_key(client)
    )
    if wait is not None:
        raise TooMany(wait)
    account = await portal.services.find_account(
        association_id, "email" if address.channel == "email" else "phone", address.value
    )
    account_id = UUID(account["id"]) if account is not None else None
    challenge = uuid.uuid4()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = clock.now()
    expires = now + timedelta(seconds=portal.settings.holder_code_s)
    async with portal.pool.acquire() as conn, conn.transaction():
        await store.add_code(
            conn,
            challenge,
            code_digest(str(challenge), code),
            association_id,
            account_id,
            sessions.account_key(address.value),
            now,
            expires,
        )
        if account_id is not None:
            await messages.request(
                conn,
                address.channel,
                address.value,
                "portal_holder_code",
                {"code": code, "minutes": portal.settings.holder_code_s // 60},
                language,
                association_id,
                account_id=account_id,
            )
    return challenge


async def check_code(
    portal: Portal, challenge: UUID, code: str, address: str, language: str
) -> SignedIn | None:
    """A session for the account when the code is right; None otherwise."""
    where = sessions.address_key(address)
    async with portal.pool.acquire() as conn, conn.transaction():
        row = await store.code(conn, challenge)
        if row is None:
            return None
        account = row["account_key"]
        wait = await sessions.wait_before(portal, account, where)
        if wait is not None:
            raise TooMany(wait)
        now = clock.now()
        usable = usable_until(row["expires_at"], row["used"], now) and (
            row["attempts"] < CODE_MAX_ATTEMPTS
        )
        right = usable and same(row["code_hash"], code_digest(str(challenge), code.strip()))
        await store.code_tried(conn, challenge, now if right else None)
    if not right or row["account_id"] is None:
        await sessions.failed(portal, account, where)
        return None
    await sessions.succeeded(portal, account)
    p = Principal(
        actor=f"holder:{row['account_id']}",
        role="cardholder",
        association_id=row["association_id"],
        account_id=row["account_id"],
    )
    session_id = await sessions.open_session(portal, p, None, "", language)
    return SignedIn(session_id, p)
