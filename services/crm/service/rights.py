"""The GDPR rights through the API (F21): access (everything held about a person, in every
service), erasure (an event every service acts on; the ledgers keep amounts under a
pseudonym), and retention (the daily job that erases customers inactive for too long).
Correction is ``customers.correct``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg

from services.crm.adapters import consents as consent_rows
from services.crm.adapters import customers as visit_rows
from services.crm.adapters import people as rows
from services.crm.adapters import shop_messages as shop_message_rows
from services.crm.adapters import sponsorship as sponsorship_rows
from services.crm.adapters.services import Others
from services.crm.domain.people import pseudonym
from services.crm.service import consents, daily
from services.crm.service.common import event
from shared import clock, outbox
from shared.clock import PARIS
from shared.contracts import CustomerErased
from shared.events import Event
from shared.rules.codes import format_referral_code
from shared.settings import Settings

RETENTION = "retention"
# A day's purge erases at most this many files per transaction (the next batch follows).
BATCH = 500


def _plain(record: asyncpg.Record | None) -> dict[str, Any] | None:
    return None if record is None else dict(record)


async def held_by_crm(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> dict[str, Any]:
    file = await rows.file(conn, account_id)
    return {
        "file": _plain(file),
        "merchant_files": [dict(r) for r in await visit_rows.merchant_files(conn, account_id)],
        "visits": [dict(r) for r in await rows.visits_of(conn, account_id)],
        "cards": [dict(r) for r in await rows.cards_of(conn, account_id)],
        "consents": [
            {k: v for k, v in dict(r).items() if k != "code_sha256"}
            for r in await consent_rows.of_account(conn, account_id)
        ],
        "consent_proofs": [dict(r) for r in await consent_rows.proofs_of(conn, account_id)],
        "messages": [dict(r) for r in await rows.messages_of(conn, account_id)],
        "sponsorship": await _sponsorship(conn, account_id),
        "shop_messages": [dict(r) for r in await shop_message_rows.of_account(conn, account_id)],
    }


async def _sponsorship(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> dict[str, Any]:
    """The person's sponsorship (F22): their referral code (read, never drawn by the access),
    who sponsored them, whom they sponsored, the rewards decided for them and any taken back.
    The other people are named by their account only: their names are theirs."""
    code = await sponsorship_rows.code_of(conn, account_id)
    link = await sponsorship_rows.sponsorship(conn, account_id)
    return {
        "referral_code": format_referral_code(code) if code else None,
        "sponsor": None
        if link is None
        else {k: link[k] for k in ("sponsor_id", "how", "linked_at", "merchant_id")},
        "newcomers": [dict(r) for r in await sponsorship_rows.sponsorees(conn, account_id)],
        "rewards": [dict(r) for r in await sponsorship_rows.rewards_of(conn, account_id)],
    }


def addresses(file: dict[str, Any] | asyncpg.Record) -> list[str]:
    return [a for a in (file["phone"], file["email"], file["landline"]) if a]


async def access(pool: asyncpg.Pool, settings: Settings, account_id: UUID) -> dict[str, Any]:
    """Everything held about the person, service by service."""
    crm = await held_by_crm(pool, account_id)
    async with Others(settings) as others:
        theirs = await others.of_person(account_id, addresses(crm["file"]))
    return {"account_id": account_id, "crm": crm, **theirs}


async def erase(
    conn: asyncpg.Connection, account_id: UUID, reason: Literal["request", "retention"]
) -> list[Event[Any]]:
    """Erase the person's data here and tell every service to (CustomerErased); an erased file
    is erased again for nothing."""
    file = await rows.file_for_update(conn, account_id)
    if file["erased_at"] is not None:
        return []
    now = clock.now()
    name = pseudonym(account_id)
    live = [r["id"] for r in await consent_rows.of_account(conn, account_id)]
    await consents.withdraw(conn, live, "erasure")
    await rows.erase(conn, account_id, name, now)
    await shop_message_rows.erase(conn, account_id)  # their words: erased with the file
    data = CustomerErased(
        account_id=account_id,
        association_id=file["association_id"],
        pseudonym=name,
        addresses=addresses(file),
        reason=reason,
        erased_at=now,
    )
    return [event(data, str(account_id))]


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), PARIS)


async def retention_day(
    pool: asyncpg.Pool, day: date, retention_days: int, job: str = RETENTION
) -> int | None:
    """The purge of ``day``: the files inactive since ``retention_days`` before it are erased,
    BATCH per transaction. Run once per day whatever the restarts or replicas
    (``service.daily``); None when the day was run already."""
    cutoff = start_of(day) - timedelta(days=retention_days)

    async def step(conn: asyncpg.Connection, _: date, after: UUID | None) -> daily.Batch:
        batch = await rows.inactive(conn, cutoff, BATCH, after)
        events: list[Event[Any]] = []
        for account_id in batch:
            events.extend(await erase(conn, account_id, "retention"))
        await outbox.write(conn, events)
        return daily.Batch(
            len(batch),
            batch[-1] if batch else None,
            len(batch) < BATCH,
            f"inactive before {cutoff}",
        )

    return await daily.run_day(pool, job, day, step)


async def retention_due(
    pool: asyncpg.Pool, today: date, retention_days: int, job: str = RETENTION
) -> dict[date, int | None]:
    """Every day not run yet up to ``today`` (a missed day is caught up), each once."""
    return {
        day: await retention_day(pool, day, retention_days, job)
        for day in await daily.days_due(pool, job, today)
    }


async def erased(conn: asyncpg.Connection, account_id: UUID) -> asyncpg.Record:
    return await rows.file(conn, account_id)
