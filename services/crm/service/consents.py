"""Consent (F21): asked with double opt-in (a link by e-mail, a code by SMS, both as
transactional messages), confirmed, withdrawn in one click, by STOP or by a bounce; each step
kept as proof (when, how, which wording)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from services.crm.adapters import consents as rows
from services.crm.adapters import people
from services.crm.domain import consent as rules
from services.crm.domain.consent import ConsentChannel
from services.crm.service import messages
from services.crm.service.common import PROBLEMS, Links
from shared import clock, outbox
from shared.contracts import ConsentChanged
from shared.events import Event, new_event
from shared.http import Problem

NETWORK_LABEL = "votre réseau de commerçants"
MERCHANT_LABEL = "votre commerçant"


def scope_label(merchant_id: UUID | None) -> str:
    return NETWORK_LABEL if merchant_id is None else MERCHANT_LABEL


async def ask(
    conn: asyncpg.Connection,
    links: Links,
    file: asyncpg.Record,
    channel: ConsentChannel,
    merchant_id: UUID | None,
    how: str,
) -> tuple[UUID, list[Event[Any]]]:
    """Ask (or ask again) the consent; for e-mail and SMS, send the double opt-in. The post
    has none: the consent is given on paper or at the till, and confirmed at once."""
    now = clock.now()
    address = {"email": file["email"], "sms": file["phone"], "post": file["address"]}[channel]
    if address is None:
        raise Problem(
            422,
            "No address",
            f"the file has no address for the channel {channel}",
            PROBLEMS + "no-address",
        )
    label = scope_label(merchant_id)
    wording = rules.wording(channel, label)
    code = f"{secrets.randbelow(1_000_000):06d}" if channel == "sms" else None
    new_id = uuid.uuid4()
    consent_id = await rows.ask(
        conn,
        new_id,
        file["account_id"],
        file["association_id"],
        channel,
        merchant_id,
        "confirmed" if channel == "post" else "pending",
        address,
        wording,
        None,
        now + rules.CODE_LIFETIME if code else None,
        now,
    )
    if code is not None:
        # the digest is of the consent's id, known only now (a consent asked again keeps it)
        await rows.set_code(conn, consent_id, rules.code_digest(consent_id, code))
    proofs = [(consent_id, now, "requested", how, wording, None)]
    if channel == "post":
        proofs.append((consent_id, now, "confirmed", how, wording, None))
        await _told(conn, [await rows.one(conn, consent_id)], "confirmed", how, now)
    await rows.prove(conn, proofs)
    if channel == "email":
        url = links.consent(consent_id, now + rules.LINK_LIFETIME)
        variables = {"url": url, "scope_label": label} | _first_name(file)
        return consent_id, [
            await messages.transactional(
                conn, file, "email", "consent_email_confirm", variables, merchant_id
            )
        ]
    if channel == "sms" and code is not None:
        variables = {"code": code, "scope_label": label}
        return consent_id, [
            await messages.transactional(
                conn, file, "sms", "consent_sms_code", variables, merchant_id
            )
        ]
    return consent_id, []


def _first_name(file: asyncpg.Record) -> dict[str, str]:
    return {"first_name": file["first_name"]} if file["first_name"] else {}


async def confirm_by_link(conn: asyncpg.Connection, links: Links, token: str) -> asyncpg.Record:
    """The e-mail's link clicked (and its page's button pressed: a GET changes nothing)."""
    consent_id = links.verify(token, "consent", clock.now())
    row = await rows.one_for_update(conn, consent_id)
    if row["status"] == "pending":
        await _confirmed(conn, row, "email_link")
    elif row["status"] == "withdrawn":
        raise Problem(
            409, "Consent withdrawn", "ask for the consent again", PROBLEMS + "consent-withdrawn"
        )
    return await rows.one(conn, consent_id)


async def confirm_by_code(
    conn: asyncpg.Connection, account_id: UUID, consent_id: UUID, code: str
) -> tuple[asyncpg.Record, str | None]:
    """The SMS code typed (at the till, or by the customer): the consent, and the reason the
    code was refused (None: confirmed). A refusal is returned, not raised, so that the attempt
    it counted is committed."""
    row = await rows.one_for_update(conn, consent_id)
    if row["account_id"] != account_id or row["channel"] != "sms":
        raise Problem(
            404,
            "Unknown consent",
            f"no SMS consent {consent_id} for this customer",
            reason="unknown_consent",
        )
    try:
        rules.check_code(
            consent_id,
            row["status"],
            row["code_sha256"],
            row["code_expires_at"],
            row["code_attempts"],
            code,
            clock.now(),
        )
    except rules.CodeRefused as exc:
        if exc.reason == "wrong_code":
            await rows.count_attempt(conn, consent_id)
        return row, exc.reason
    await _confirmed(conn, row, "sms_code")
    return await rows.one(conn, consent_id), None


async def _confirmed(conn: asyncpg.Connection, row: asyncpg.Record, how: str) -> None:
    now = clock.now()
    await rows.confirm(conn, row["id"], now)
    await rows.prove(conn, [(row["id"], now, "confirmed", how, row["wording"], None)])
    await _told(conn, [row], "confirmed", how, now)


async def withdraw(
    conn: asyncpg.Connection, consent_ids: list[UUID], how: str, detail: str | None = None
) -> int:
    """Withdraw the consents, each with its proof; the number withdrawn now."""
    now = clock.now()
    done = await rows.withdraw(conn, sorted(consent_ids), now)
    await rows.prove(conn, [(r["id"], now, "withdrawn", how, r["wording"], detail) for r in done])
    await _told(conn, done, "withdrawn", how, now)
    return len(done)


async def _told(
    conn: asyncpg.Connection,
    changed: Iterable[asyncpg.Record],
    status: Literal["confirmed", "withdrawn"],
    how: str,
    at: datetime,
) -> None:
    """The change, for the subscribers of notifications' webhooks (issue 14): in the outbox
    with the change itself, whatever use case made it."""
    await outbox.write(
        conn,
        [
            new_event(
                "crm",
                ConsentChanged(
                    consent_id=r["id"],
                    account_id=r["account_id"],
                    association_id=r["association_id"],
                    merchant_id=r["merchant_id"],
                    channel=r["channel"],
                    status=status,
                    how=how,
                    changed_at=at,
                ),
                subject=str(r["account_id"]),
            )
            for r in changed
        ],
    )


async def unsubscribe(conn: asyncpg.Connection, links: Links, token: str) -> asyncpg.Record:
    """RFC 8058 one-click: the consent the message relied on is withdrawn."""
    consent_id = links.verify(token, "unsubscribe", clock.now())
    row = await rows.one(conn, consent_id)
    await withdraw(conn, [consent_id], "one_click")
    return row


async def on_opt_outs(
    conn: asyncpg.Connection, opt_outs: Iterable[tuple[str, str, str | None, datetime]]
) -> None:
    """An SMS STOP (or an e-mail bounced for good): every consent given for that address on
    that channel is withdrawn, whatever its scope."""
    for channel, address, keyword, _at in opt_outs:
        ids = await rows.by_address(conn, channel, address)
        how = "sms_stop" if channel == "sms" else "bounce"
        await withdraw(conn, ids, how, keyword)


async def of_customer(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    await people.file(conn, account_id)
    return await rows.of_account(conn, account_id), await rows.proofs_of(conn, account_id)


async def one(conn: asyncpg.Connection | asyncpg.Pool, consent_id: UUID) -> asyncpg.Record:
    return await rows.one(conn, consent_id)


async def ask_for(
    conn: asyncpg.Connection,
    links: Links,
    account_id: UUID,
    channel: ConsentChannel,
    merchant_id: UUID | None,
    how: str,
) -> tuple[UUID, list[Event[Any]]]:
    """``ask``, for the customer's file (locked: two asks do not interleave)."""
    file = await people.file_for_update(conn, account_id)
    if file["erased_at"] is not None:
        raise Problem(
            409,
            "Customer erased",
            "this customer's personal data were erased",
            PROBLEMS + "erased-customer",
        )
    return await ask(conn, links, file, channel, merchant_id, how)
