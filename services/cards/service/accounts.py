"""Use cases of accounts (F2): find one by an identifier, read it whole, complete or correct its
holder's details, link an e-mail address or a bank-card token."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, cagnotte, cards, identifiers
from services.cards.domain.identifiers import Kind as IdentifierKind
from services.cards.service.common import event
from services.cards.service.views import (
    ENTRIES_SHOWN,
    Account,
    AccountDetail,
    Entry,
    Identifier,
    LinkedIdentifier,
    card,
)
from shared import clock, db, outbox
from shared.contracts import AccountDetailsCorrected
from shared.db.query import as_model, as_models
from shared.http import Problem


async def find(
    pool: asyncpg.Pool, association_id: UUID, kind: IdentifierKind, value: str
) -> Account:
    """The one account of the association this identifier names: 404 none, 409 several."""
    rows = await accounts.find(pool, association_id, kind, value)
    if not rows:
        raise Problem(404, "Unknown account", f"no account with this {kind} in the association")
    if len(rows) > 1:
        ids = sorted(str(r["id"]) for r in rows)
        raise Problem(
            409,
            "Several accounts",
            f"{len(rows)} accounts share this {kind}: look them up by id",
            accounts=ids,
        )
    return as_model(Account, rows[0])


async def detail(pool: asyncpg.Pool, account_id: UUID) -> AccountDetail:
    """Buckets, details, cards, identifiers and the last entries, from one snapshot."""
    async with (
        pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        row = await accounts.get(conn, account_id)
        owned = await cards.of_account(conn, account_id)
        linked = await identifiers.of_account(conn, account_id)
        entries = await cagnotte.last_entries(conn, account_id, ENTRIES_SHOWN)
    now = clock.now()
    known: list[Identifier] = []
    if row["phone"] is not None:
        known.append(Identifier(kind="phone", value=row["phone"], linked_at=row["opened_at"]))
    if row["email"] is not None and not any(
        i["kind"] == "email" and i["value"] == row["email"].lower() for i in linked
    ):
        known.append(Identifier(kind="email", value=row["email"], linked_at=None))
    known += as_models(Identifier, linked)
    known += [Identifier(kind="card", value=c["number"], linked_at=c["issued_at"]) for c in owned]
    return AccountDetail(
        **as_model(Account, row).model_dump(),
        cards=[card(c, now) for c in owned],
        identifiers=known,
        entries=as_models(Entry, entries),
    )


def _in_use(title: str, detail: str, other: UUID) -> Problem:
    return Problem(409, title, detail, account_id=str(other))


async def patch(pool: asyncpg.Pool, account_id: UUID, changes: dict[str, Any]) -> Account:
    """Only the fields in ``changes`` change; None clears one (the phone can only be changed).
    A phone or e-mail address already used by another account of the association: 409; an
    erased customer: 409. The correction goes to crm, which owns the customer file
    (``AccountDetailsCorrected``, in the same transaction)."""
    if "phone" in changes and changes["phone"] is None:
        raise Problem(422, "Phone required", "a phone number can be changed, not removed")

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        row = await cagnotte.lock(conn, account_id)
        if row is None:
            raise accounts.unknown(account_id)
        if row["erased_at"] is not None:  # GDPR: what was erased is not written again
            raise Problem(
                409,
                "Customer erased",
                "this customer's personal data were erased",
                reason="erased_customer",
            )
        aid = row["association_id"]
        if changes.get("email") is not None:
            await identifiers.email_lock(conn, aid, changes["email"])
            other = await identifiers.email_owner(conn, aid, changes["email"], account_id)
            if other is not None:
                raise _in_use(
                    "E-mail address in use",
                    f"another account of the association has this e-mail address: {other}",
                    other,
                )
        if "phone" in changes and changes["phone"] != row["phone"]:
            other = await accounts.phone_owner(conn, aid, changes["phone"])
            if other is not None:
                raise _in_use(
                    "Phone in use",
                    f"another account of the association has this phone number: {other}",
                    other,
                )
        if not changes:
            return row
        try:
            after = await accounts.update_details(conn, account_id, changes)
        except asyncpg.UniqueViolationError as exc:  # a phone taken since the check
            raise Problem(
                409, "Phone in use", "another account of the association has this phone number"
            ) from exc
        # Every field the back office gave, changed here or not: crm may hold another value
        # (the correction is what the holder's details are now, wherever they were wrong).
        await outbox.write(conn, [_corrected(after, sorted(changes))])
        return after

    return as_model(Account, await db.transaction(pool, work))


def _corrected(row: asyncpg.Record, changed: list[str]) -> Any:
    """The correction, for crm (which owns the customer file and tells the other services)."""
    # Validated as any event: ``changed`` holds AccountPatch's fields, the contract's names.
    corrected = AccountDetailsCorrected.model_validate(
        {
            "account_id": row["id"],
            "association_id": row["association_id"],
            "changed": changed,
            **{name: row[name] for name in accounts.DETAILS},
            "corrected_at": clock.now(),
        }
    )
    return event(corrected, f"account/{row['id']}")


async def link(
    pool: asyncpg.Pool, account_id: UUID, kind: str, value: str
) -> tuple[LinkedIdentifier, bool]:
    """The identifier linked, and whether now (False: it was already linked to this account);
    409 when another account of the association has it."""

    async def work(conn: asyncpg.Connection) -> tuple[asyncpg.Record, bool]:
        aid = await accounts.key_share(conn, account_id)
        if aid is None:
            raise accounts.unknown(account_id)
        if kind == "email":
            await identifiers.email_lock(conn, aid, value)
            other = await identifiers.email_owner(conn, aid, value, account_id)
            if other is not None:
                raise _in_use(
                    "Identifier in use",
                    f"this e-mail address belongs to another account: {other}",
                    other,
                )
        row, created = await identifiers.link(conn, aid, kind, value, account_id, clock.now())
        if row["account_id"] != account_id:
            raise _in_use(
                "Identifier in use",
                f"this {kind} belongs to another account: {row['account_id']}",
                row["account_id"],
            )
        return row, created

    row, created = await db.transaction(pool, work)
    return as_model(LinkedIdentifier, row), created
