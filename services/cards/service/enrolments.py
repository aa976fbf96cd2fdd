"""Enrolments (F3): an account opened at a terminal's request for a mobile, an e-mail address or
both, or refused. A mobile or an e-mail already used in the association is ``already_enrolled``,
naming the account that holds it; an e-mail given at the till becomes an identifier of the
account (``account_identifiers``), the one the till finds an e-mail-only customer by."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, identifiers
from services.cards.adapters.rulebooks import BOOKS
from services.cards.service.common import SOURCE
from services.cards.service.resolution import merchant_error, open_for
from shared import clock
from shared.contracts import (
    AccountOpened,
    EnrolmentRefused,
    EnrolmentRequested,
    RefusalReason,
)
from shared.events import Event, new_event


async def on_enrolments(
    conn: asyncpg.Connection, events: list[Event[EnrolmentRequested]]
) -> Sequence[Event[Any]]:
    out: list[Event[Any]] = []
    snap = await BOOKS.current(conn)
    valid = []
    for e in events:
        err = merchant_error(snap, e.data.merchant_id, e.data.association_id)
        if err:
            out.append(_refused(e, err[0], err[1]))
        else:
            valid.append(e)
    # One e-mail at a time in the association (the back office's corrections and links take
    # the same lock): what is checked free below stays free until this transaction ends.
    await identifiers.email_locks(
        conn, [(e.data.association_id, e.data.email) for e in valid if e.data.email]
    )
    for batch in _rounds(valid):
        await _enrol(conn, batch, out)
    return out


def _rounds(events: list[Event[EnrolmentRequested]]) -> list[list[Event[EnrolmentRequested]]]:
    """The batch in rounds in which no e-mail address comes twice: the second enrolment of an
    address in one batch is decided after the first, and finds it taken like any other."""
    rounds: list[list[Event[EnrolmentRequested]]] = []
    seen: dict[tuple[UUID, str], int] = {}
    for e in events:
        i = 0
        if e.data.email is not None:
            key = (e.data.association_id, e.data.email)
            i = seen[key] = seen.get(key, -1) + 1
        while len(rounds) <= i:
            rounds.append([])
        rounds[i].append(e)
    return rounds


async def _enrol(
    conn: asyncpg.Connection, events: list[Event[EnrolmentRequested]], out: list[Event[Any]]
) -> None:
    owners = await accounts.email_accounts(
        conn, ((e.data.association_id, e.data.email) for e in events if e.data.email)
    )
    free = []
    for e in events:
        held = owners.get((e.data.association_id, e.data.email)) if e.data.email else None
        if held:
            out.append(
                _refused(
                    e,
                    "already_enrolled",
                    "this e-mail address already has an account in the association",
                    held[0],
                )
            )
        else:
            free.append(e)
    by_phone = [e for e in free if e.data.phone is not None]
    existing, opened = await open_for(
        conn,
        [
            (
                e.data.association_id,
                e.data.phone,
                e.data.merchant_id,
                e.data.enrolment_id,
                e.data.email,
                e.data.first_name,
                e.data.last_name,
            )
            for e in by_phone
            if e.data.phone is not None
        ],
        {e.data.enrolment_id: e for e in by_phone},
        out,
    )
    links: list[tuple[UUID, str, UUID]] = []
    answered: set[UUID] = set()  # the accounts opened, once the enrolment that opened each is met
    for e in by_phone:
        assert e.data.phone is not None
        account = existing[(e.data.association_id, e.data.phone)]
        # open_for opened each new phone's account for its first enrolment in the batch: a
        # second enrolment of the same phone finds it taken.
        if account not in opened or account in answered:
            out.append(
                _refused(
                    e,
                    "already_enrolled",
                    "this phone number already has an account in the association",
                    account,
                )
            )
        else:
            answered.add(account)
            if e.data.email is not None:
                links.append((e.data.association_id, e.data.email, account))
    links += await _open_by_email([e for e in free if e.data.phone is None], conn, out)
    await identifiers.link_emails(conn, links, clock.now())


async def _open_by_email(
    events: list[Event[EnrolmentRequested]], conn: asyncpg.Connection, out: list[Event[Any]]
) -> list[tuple[UUID, str, UUID]]:
    """The accounts of enrolments by e-mail only (checked free by the caller): no phone, the
    e-mail on the account and as its identifier."""
    if not events:
        return []
    ids = {e.data.enrolment_id: uuid.uuid4() for e in events}
    await accounts.open_accounts(
        conn,
        [
            (
                ids[d.enrolment_id],
                d.association_id,
                None,
                d.merchant_id,
                d.email,
                d.first_name,
                d.last_name,
            )
            for d in (e.data for e in events)
        ],
    )
    now = clock.now()
    links = []
    for e in events:
        d, account = e.data, ids[e.data.enrolment_id]
        assert d.email is not None
        links.append((d.association_id, d.email, account))
        opened = AccountOpened(
            account_id=account,
            association_id=d.association_id,
            merchant_id=d.merchant_id,
            email=d.email,
            first_name=d.first_name,
            last_name=d.last_name,
            opened_at=now,
            request_id=d.enrolment_id,
            request_kind="enrolment",
            referral_code=d.referral_code,
        )
        out.append(new_event(SOURCE, opened, subject=f"account/{account}", cause=e))
    return links


def _refused(
    e: Event[EnrolmentRequested],
    reason: RefusalReason,
    detail: str,
    account_id: UUID | None = None,
) -> Event[Any]:
    refused = EnrolmentRefused(
        enrolment_id=e.data.enrolment_id, reason=reason, detail=detail, account_id=account_id
    )
    return new_event(SOURCE, refused, cause=e)
