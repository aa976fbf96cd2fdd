"""A partner association's statement of a period (F19): the merchants' shares of its
members' purchases (booked at the close; reckoned as the close would before it) and the
members' donations."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from services.clearing.adapters import books, partners
from services.clearing.adapters import partner_statements as repo
from services.clearing.domain import partner_statements
from shared.http import Problem


async def statement(conn: asyncpg.Connection, partner_id: UUID, period: date) -> dict[str, Any]:
    partner = await partners.partner(conn, partner_id)
    if partner is None:
        raise Problem(404, "Unknown partner", f"clearing knows no partner {partner_id}")
    aid = partner["association_id"]
    closed = await books.closed_through(conn, aid)
    if closed is not None and period <= closed:
        status = "closed"
        shares = [dict(r) for r in await repo.booked_shares(conn, partner_id, period)]
    else:
        status = "provisional"
        revenues = [
            dict(r)
            for r in await partners.members_revenue(conn, aid, period)
            if r["partner_id"] == partner_id
        ]
        names = await repo.merchant_names(conn, [r["merchant_id"] for r in revenues])
        shares = [{**r, "merchant_name": names.get(r["merchant_id"])} for r in revenues]
    gifts = await repo.donations(conn, partner_id, period)
    return partner_statements.compose(partner, period, status, shares, gifts)
