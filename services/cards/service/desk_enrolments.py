"""A quick enrolment at a merchant's counter through the back office (issue 15, the front
desk's CARD page), beside the till's (enrolments.py, from ``enrolment.requested``): the same
rules (a mobile or an e-mail already used in the association is ``already_enrolled``, naming
its account), the same adapters and the same ``account.opened`` with ``request_kind``
``enrolment``, so crm opens the file and sends the link to complete it as after a till's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, identifiers
from services.cards.service.common import event
from services.cards.service.issuance import check_merchant
from shared import clock, db, outbox
from shared.contracts import AccountOpened
from shared.http import Problem


@dataclass(frozen=True, slots=True)
class DeskEnrolment:
    enrolment_id: UUID
    association_id: UUID
    merchant_id: UUID
    phone: str | None  # E.164, as shared.fields.PhoneNumber gives it
    email: str | None  # lower-cased
    first_name: str | None
    last_name: str | None


def _taken(what: str, account: UUID) -> Problem:
    return Problem(
        409,
        "Already enrolled",
        f"this {what} already has an account in the association",
        reason="already_enrolled",
        account_id=str(account),
    )


async def enrol(pool: asyncpg.Pool, d: DeskEnrolment) -> UUID:
    """The account opened for this mobile or e-mail (both may be given), or 409
    ``already_enrolled`` with the account that holds one of them."""
    aid = d.association_id

    async def work(conn: asyncpg.Connection) -> UUID:
        await check_merchant(conn, aid, d.merchant_id)
        if d.email is not None:
            # The till's enrolments and the back office's corrections take the same lock.
            await identifiers.email_locks(conn, [(aid, d.email)])
            held = (await accounts.email_accounts(conn, [(aid, d.email)])).get((aid, d.email))
            if held:
                raise _taken("e-mail address", held[0])
        if d.phone is not None:
            known = await accounts.account_ids(conn, [(aid, d.phone)])
            if (aid, d.phone) in known:
                raise _taken("phone number", known[(aid, d.phone)])
        account = uuid.uuid4()
        row = (account, aid, d.phone, d.merchant_id, d.email, d.first_name, d.last_name)
        if account not in await accounts.open_accounts(conn, [row]):
            # a till opened this phone's account since the look-up above
            found = await accounts.account_ids(conn, [(aid, d.phone or "")])
            raise _taken("phone number", found[(aid, d.phone or "")])
        now = clock.now()
        if d.email is not None:
            await identifiers.link_emails(conn, [(aid, d.email, account)], now)
        opened = AccountOpened(
            account_id=account,
            association_id=aid,
            merchant_id=d.merchant_id,
            phone=d.phone,
            email=d.email,
            first_name=d.first_name,
            last_name=d.last_name,
            opened_at=now,
            request_id=d.enrolment_id,
            request_kind="enrolment",
        )
        events: list[Any] = [event(opened, f"account/{account}")]
        await outbox.write(conn, events)
        return account

    return await db.transaction(pool, work)
