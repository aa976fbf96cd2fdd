"""Partner associations (F19): registering them (cards is told, so members can donate to
them), the merchants' partnerships, the members."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from services.clearing.adapters import partners as repo
from shared import outbox
from shared.contracts import PartnerRegistered
from shared.events import new_event
from shared.http import Problem

SOURCE = "clearing"


async def _partner(conn: asyncpg.Connection | asyncpg.Pool, pid: UUID) -> asyncpg.Record:
    p = await repo.partner(conn, pid)
    if p is None:
        raise Problem(404, "Unknown partner", f"no partner association {pid}")
    return p


async def view(conn: asyncpg.Connection | asyncpg.Pool, pid: UUID) -> dict[str, Any]:
    """A partner as the API answers it: its members and partnerships."""
    p = await _partner(conn, pid)
    deals = await repo.partnerships(conn, pid)
    return {
        "partner_id": str(pid),
        "association_id": str(p["association_id"]),
        "name": p["name"],
        "active": p["active"],
        "members": await repo.members_count(conn, pid),
        "partnerships": [
            {
                "merchant_id": str(d["merchant_id"]),
                "rate_bps": d["rate_bps"],
                "starts_on": d["starts_on"].isoformat(),
                "ends_on": d["ends_on"].isoformat() if d["ends_on"] else None,
            }
            for d in deals
        ],
    }


async def register(
    conn: asyncpg.Connection, aid: UUID, pid: UUID, name: str, active: bool
) -> tuple[dict[str, Any], bool]:
    """Register or change a partner; (the partner, whether new). Cards is told of a change."""
    old = await repo.partner_for_update(conn, pid)
    if old is not None and old["association_id"] != aid:
        raise Problem(
            409,
            "Partner of another association",
            f"partner {pid} is association {old['association_id']}'s",
        )
    if old is None or (old["name"], old["active"]) != (name, active):
        await repo.save_partner(conn, pid, aid, name, active)
        event = PartnerRegistered(
            partner_id=pid, association_id=aid, partner_name=name, active=active
        )
        await outbox.write(conn, [new_event(SOURCE, event, subject=f"partner/{pid}")])
    return await view(conn, pid), old is None


async def of_association(conn: asyncpg.Connection, aid: UUID) -> list[dict[str, Any]]:
    return [await view(conn, pid) for pid in await repo.partner_ids(conn, aid)]


async def set_partnership(
    conn: asyncpg.Connection,
    pid: UUID,
    mid: UUID,
    rate_bps: int,
    starts_on: date,
    ends_on: date | None,
) -> None:
    """A merchant of the partner's association gives back ``rate_bps`` from ``starts_on``."""
    p = await _partner(conn, pid)
    owner = await repo.merchant_association(conn, mid)
    if owner is None:
        raise Problem(422, "Unknown merchant", f"no merchant {mid}", reason="unknown_merchant")
    if owner != p["association_id"]:
        raise Problem(
            422,
            "Merchant of another association",
            f"merchant {mid} is not in partner {pid}'s association",
            reason="merchant_not_in_association",
        )
    await repo.save_partnership(conn, mid, pid, rate_bps, starts_on, ends_on)


async def set_member(
    conn: asyncpg.Connection, pid: UUID, account: UUID, since: date, until: date | None
) -> None:
    """A cardholder of the partner's association becomes a member from ``since``."""
    p = await _partner(conn, pid)
    owner = await repo.holder_association(conn, account)
    if owner != p["association_id"]:
        raise Problem(
            422,
            "Unknown account",
            f"no account {account} in partner {pid}'s association",
            reason="unknown_account",
        )
    await repo.save_member(conn, pid, account, since, until)
