"""The customer file's use cases (F20): read it, correct it (every change an event), send the
link with which a customer completes their own details, add a member of another shop's file
to a merchant's with their consent per channel."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.crm.adapters import consents as consent_rows
from services.crm.adapters import customers as visit_rows
from services.crm.adapters import people as rows
from services.crm.domain.consent import ConsentChannel
from services.crm.domain.people import (
    Details,
    changed,
    details_shared,
    merchant_view,
    to_fill,
)
from services.crm.domain.visits import Enrolment
from services.crm.service import consents, messages, visits
from services.crm.service.common import PROBLEMS, Links, event
from shared import clock
from shared.contracts import CustomerDetailsChanged
from shared.contracts.messages import Channel
from shared.events import Event
from shared.http import Problem

# Quick enrolment at the till: a phone (or an e-mail), the rest completed by the customer.
AT_THE_TILL = ("enrolment", "sale")


def _erased(file: asyncpg.Record) -> None:
    if file["erased_at"] is not None:
        raise Problem(
            409,
            "Customer erased",
            "this customer's personal data were erased",
            PROBLEMS + "erased-customer",
        )


async def correct(
    conn: asyncpg.Connection, account_id: UUID, changes: dict[str, Any]
) -> tuple[asyncpg.Record, list[Event[Any]]]:
    """Apply ``changes`` to the file; every change is published (a name changed by marriage
    reaches the card records and the statements' lines)."""
    file = await rows.file_for_update(conn, account_id)
    _erased(file)
    before = rows.details_of(file)
    after = before.updated(changes)
    names = changed(before, after)
    if not names:
        return file, []
    now = clock.now()
    await rows.save_details(conn, account_id, after, now)
    return await rows.file(conn, account_id), [_changed(file, after, names, now)]


def _changed(file: asyncpg.Record, after: Details, names: list[str], at: datetime) -> Event[Any]:
    """Every change is an event, with what the other services keep of the details (they keep
    nothing else): one that missed an earlier change is right after this one."""
    return event(
        CustomerDetailsChanged(
            account_id=file["account_id"],
            association_id=file["association_id"],
            **details_shared(after),
            changed=names,
            changed_at=at,
        ),
        str(file["account_id"]),
    )


async def opened(conn: asyncpg.Connection, enrolments: Sequence[Enrolment]) -> list[Event[Any]]:
    """Open the files of the accounts opened. A file a correction opened first (cards' two
    events are handled concurrently, so the correction's may commit first) takes the opening's
    details where it has none, and that change is published like any other: the services that
    applied the correction, names missing, hear the whole names (cards' records, clearing's
    statement lines)."""
    early = await rows.opened_by_correction(conn, [e.account_id for e in enrolments])
    await visits.enrol(conn, enrolments)
    out: list[Event[Any]] = []
    now = clock.now()
    for account_id in sorted(early):
        file = await rows.file(conn, account_id)
        after = rows.details_of(file)
        names = changed(rows.details_of(early[account_id]), after)
        if names:
            out.append(_changed(file, after, names, now))
    return out


async def apply_corrections(
    conn: asyncpg.Connection, corrections: Iterable[tuple[UUID, UUID, dict[str, Any]]]
) -> list[Event[Any]]:
    """Corrections made in cards' back office (account, association, the fields given), applied
    to the files as crm's own are: each change published (``customer.details_changed``), which
    is how clearing and cards' card records hear of it; a correction that changes nothing here
    publishes nothing. An erased file takes none: what was erased is not written again."""
    out: list[Event[Any]] = []
    for account_id, association_id, changes in sorted(corrections, key=lambda c: c[0]):
        await rows.open_file(conn, account_id, association_id)
        if (await rows.file_for_update(conn, account_id))["erased_at"] is not None:
            continue
        _, events = await correct(conn, account_id, changes)
        out.extend(events)
    return out


async def send_details_link(
    conn: asyncpg.Connection,
    links: Links,
    account_id: UUID,
    channel: Channel | None,
    merchant_id: UUID | None,
) -> Event[Any]:
    """The link to complete one's details, by SMS or e-mail (by default: the e-mail if the
    file has one, else the mobile)."""
    file = await rows.file(conn, account_id)
    _erased(file)
    return await messages.transactional(conn, *_details_link(links, file, channel, merchant_id))


def _details_link(
    links: Links, file: asyncpg.Record, channel: Channel | None, merchant_id: UUID | None
) -> tuple[asyncpg.Record, Channel, str, dict[str, Any], UUID | None]:
    """The details link's message for a file not erased (``transactional``'s arguments)."""
    channel = channel or ("email" if file["email"] else "sms")
    if file["email" if channel == "email" else "phone"] is None:
        raise Problem(
            422,
            "No address",
            f"the file has no {'e-mail' if channel == 'email' else 'mobile'}",
            PROBLEMS + "no-address",
        )
    variables = {"url": links.details(file["account_id"], clock.now())}
    if file["first_name"]:
        variables["first_name"] = file["first_name"]
    return file, channel, "details_link", variables, merchant_id


async def on_enrolled(
    conn: asyncpg.Connection, links: Links, enrolments: Iterable[tuple[Enrolment, str]]
) -> list[Event[Any]]:
    """After a quick enrolment at the till: the customer enters the merchant's file and gets
    the link to complete their details (an e-mail if one was given, else an SMS). A batch of
    enrolments is three statements: the merchants' files, the customers' files, the log."""
    enrolments = list(enrolments)
    await rows.join_merchant_files(
        conn,
        [
            (e.account_id, e.enrolled_by_merchant, e.enrolled_at)
            for e, _ in enrolments
            if e.enrolled_by_merchant is not None
        ],
        "enrolment",
    )
    linked = [e for e, kind in enrolments if kind in AT_THE_TILL and (e.phone or e.email)]
    if not linked:
        return []
    files = await rows.files(conn, sorted({e.account_id for e in linked}))
    asks = []
    for e in linked:
        file = files.get(e.account_id) or await rows.file(conn, e.account_id)  # 404 if none
        if file["erased_at"] is None and (file["email"] or file["phone"]):
            asks.append(
                messages.Transactional(*_details_link(links, file, None, e.enrolled_by_merchant))
            )
    return await messages.transactional_many(conn, asks)


async def add_member(
    conn: asyncpg.Connection,
    links: Links,
    merchant_id: UUID,
    account_id: UUID,
    channels: list[ConsentChannel],
) -> list[Event[Any]]:
    """A member of another shop's file joins this merchant's, only with their consent on at
    least one channel (seed 003: "acceptez-vous d'importer les données suivantes"): each
    channel's consent for this merchant is asked (double opt-in for e-mail and SMS)."""
    if not channels:
        raise Problem(
            422,
            "Consent required",
            "a member joins another merchant's file only with their consent on a channel",
            PROBLEMS + "consent-required",
        )
    file = await rows.file_for_update(conn, account_id)
    _erased(file)
    await rows.join_merchant_file(conn, account_id, merchant_id, clock.now(), "import")
    out: list[Event[Any]] = []
    for channel in dict.fromkeys(channels):
        _, events = await consents.ask(conn, links, file, channel, merchant_id, "till")
        out.extend(events)
    return out


async def find_by_name(
    pool: asyncpg.Pool, association_id: UUID, name: str, limit: int
) -> list[asyncpg.Record]:
    """The front desk's search by name in the association's customer file: every word typed
    (at most five) must be in the first or last name."""
    words = name.split()[:5]
    return await rows.by_name(pool, association_id, words, limit) if words else []


async def named(
    pool: asyncpg.Pool, association_id: UUID, accounts: list[UUID]
) -> list[asyncpg.Record]:
    """The names of these accounts' files in the association (an account of another
    association, or erased, is left out)."""
    return await rows.by_accounts(pool, association_id, accounts)


async def read(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> tuple[asyncpg.Record, list[str], list[asyncpg.Record]]:
    """The file, its fields "à remplir" and its merchants' files (404 when unknown)."""
    file = await rows.file(conn, account_id)
    missing = [] if file["erased_at"] else to_fill(rows.details_of(file))
    return file, missing, await visit_rows.merchant_files(conn, account_id)


async def member(
    conn: asyncpg.Connection | asyncpg.Pool, merchant_id: UUID, account_id: UUID
) -> asyncpg.Record:
    row = await rows.merchant_file(conn, account_id, merchant_id)
    if row is None:
        raise Problem(
            404,
            "Unknown member",
            f"{account_id} is not in the file of {merchant_id}",
            reason="unknown_member",
        )
    return row


async def form(
    conn: asyncpg.Connection | asyncpg.Pool, links: Links, token: str
) -> tuple[asyncpg.Record, list[str]]:
    """The public form's view of one's own file, by the link's token."""
    account_id = links.verify(token, "details", clock.now())
    file = await rows.file(conn, account_id)
    _erased(file)
    return file, to_fill(rows.details_of(file))


async def complete(
    conn: asyncpg.Connection, links: Links, token: str, changes: dict[str, Any]
) -> tuple[asyncpg.Record, list[Event[Any]]]:
    """The customer completes their details through the link."""
    account_id = links.verify(token, "details", clock.now())
    return await correct(conn, account_id, changes)


async def as_merchant_sees(
    conn: asyncpg.Connection | asyncpg.Pool, merchant_id: UUID, account_id: UUID
) -> tuple[asyncpg.Record, Details, list[str]]:
    """The member's file at the merchant, their details as the merchant may see them, and
    the fields "à remplir"."""
    row = await member(conn, merchant_id, account_id)
    file = await rows.file(conn, account_id)
    channels = {
        c["channel"]
        for c in await consent_rows.of_account(conn, account_id)
        if c["merchant_id"] == merchant_id and c["status"] != "withdrawn"
    }
    details = rows.details_of(file)
    missing = [] if file["erased_at"] else to_fill(details)
    return row, merchant_view(details, row["joined_how"], channels), missing


async def members(
    conn: asyncpg.Connection | asyncpg.Pool, merchant_id: UUID, limit: int, after: UUID | None
) -> list[UUID]:
    return [r["account_id"] for r in await rows.merchant_members(conn, merchant_id, limit, after)]
