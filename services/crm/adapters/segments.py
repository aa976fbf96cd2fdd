"""Saved segments, and the SQL that selects a segment's customers, in PostgreSQL.

The WHERE clause is built from the filters given, one clause a filter; every value goes in as
a parameter (``$n``), and the only words taken from the filters are column names picked from
fixed tables here (the scope's counters, the channel's address), never text from a request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.crm.domain.segments import Segment

# The customer's counters: the network's (the file) or the merchant's (its file of the customer).
_NETWORK = {"last": "c.last_visit_at", "spent": "c.total_spent_cents", "visits": "c.visit_count"}
_MERCHANT = {"last": "m.last_visit_at", "spent": "m.total_spent_cents", "visits": "m.visit_count"}
# Where the channel reaches the customer: a consent counts for the file's current address only.
ADDRESS = {"email": "c.email", "sms": "c.phone", "post": "c.address"}
# The birth month, as migration 0006's index customers_birth_month has it (the same expression,
# or the index is not used).
BIRTH_MONTH = "(extract(month FROM c.birth_date))::integer"


@dataclass
class Selection:
    """``FROM … WHERE …`` of a segment's customers (``c`` the file, ``m`` the merchant's file
    at a merchant) and its parameters; ``param`` adds one more and names it."""

    source: str = ""
    where: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def param(self, value: Any, cast: str) -> str:
        self.args.append(value)
        return f"${len(self.args)}::{cast}"

    @property
    def sql(self) -> str:
        return f"FROM {self.source} WHERE " + "\n  AND ".join(self.where)


def _consent_terms(sel: Selection, s: Segment, channel: str) -> str:
    """The consent ``k`` of ``channel`` in the segment's scope (the network's in the network,
    the merchant's at a merchant), confirmed, for the file's address (one at most: the
    consents are unique per person, channel and scope)."""
    scope = (
        "k.merchant_id IS NULL"
        if s.merchant_id is None
        else f"k.merchant_id = {sel.param(s.merchant_id, 'uuid')}"
    )
    return f"""k.account_id = c.account_id AND k.channel = {sel.param(channel, "text")}
          AND k.status = 'confirmed' AND {scope} AND k.address = {ADDRESS[channel]}"""


def consented(sel: Selection, s: Segment, channel: str) -> str:
    """The SQL test: the customer consented to ``channel`` in the segment's scope."""
    return f"EXISTS (SELECT 1 FROM consents k WHERE {_consent_terms(sel, s, channel)})"


def selection(s: Segment) -> Selection:
    """The segment's customers: its scope's, not erased, every filter given holding."""
    sel = Selection()
    f = s.filters
    where = sel.where
    where += [f"c.association_id = {sel.param(s.association_id, 'uuid')}", "c.erased_at IS NULL"]
    if s.merchant_id is None:
        sel.source, col = "customers c", _NETWORK
    else:
        sel.source = "merchant_customers m JOIN customers c ON c.account_id = m.account_id"
        col = _MERCHANT
        where.insert(0, f"m.merchant_id = {sel.param(s.merchant_id, 'uuid')}")
    if f.seen_since is not None:
        where.append(f"{col['last']} >= {sel.param(f.seen_since, 'timestamptz')}")
    if f.not_seen_since is not None:
        since = sel.param(f.not_seen_since, "timestamptz")
        where.append(f"({col['last']} IS NULL OR {col['last']} < {since})")
    for bound, column, op in (
        (f.min_spent_cents, "spent", ">="),
        (f.max_spent_cents, "spent", "<="),
        (f.min_visits, "visits", ">="),
        (f.max_visits, "visits", "<="),
    ):
        if bound is not None:
            where.append(f"{col[column]} {op} {sel.param(bound, 'bigint')}")
    if f.product_families:
        at = (
            ""
            if s.merchant_id is None
            else f"AND v.merchant_id = {sel.param(s.merchant_id, 'uuid')}"
        )
        families = sel.param(list(f.product_families), "text[]")
        where.append(
            f"""EXISTS (SELECT 1 FROM visits v
                WHERE v.account_id = c.account_id AND v.cancelled_at IS NULL {at}
                  AND v.product_family = ANY({families}))"""
        )
    if f.birth_months:
        where.append(f"{BIRTH_MONTH} = ANY({sel.param(list(f.birth_months), 'integer[]')})")
    if f.level_codes:
        # The scope's own levels: the association's (merchant_id NULL) in the network.
        at = (
            "l.merchant_id IS NULL"
            if s.merchant_id is None
            else f"l.merchant_id = {sel.param(s.merchant_id, 'uuid')}"
        )
        codes = sel.param(list(f.level_codes), "text[]")
        where.append(
            f"""EXISTS (SELECT 1 FROM customer_levels l
                WHERE l.account_id = c.account_id AND {at} AND l.level_code = ANY({codes}))"""
        )
    if f.consent_channel is not None:
        where.append(consented(sel, s, f.consent_channel))
    return sel


async def size(
    conn: asyncpg.Connection | asyncpg.Pool, s: Segment, channel: str | None
) -> tuple[int, int | None]:
    """The segment's customers, and how many of them consented to ``channel`` (None: no
    channel asked)."""
    sel = selection(s)
    counted = "NULL::bigint"
    if channel is not None:
        # A join rather than a test a customer: over a whole association the planner then
        # hashes the scope's consents once instead of probing them 400,000 times.
        sel.source += f" LEFT JOIN consents k ON {_consent_terms(sel, s, channel)}"
        counted = "count(k.account_id)"
    row = await conn.fetchrow(
        f"SELECT count(*) AS size, {counted} AS consenting {sel.sql}", *sel.args
    )
    assert row is not None
    return row["size"], row["consenting"]


async def consenting(
    conn: asyncpg.Connection, s: Segment, channel: str, after: UUID | None, limit: int
) -> list[UUID]:
    """A page of the segment's customers who consented to ``channel``, by account."""
    sel = selection(s)
    test = consented(sel, s, channel)
    after_ = sel.param(after, "uuid")
    rows = await conn.fetch(
        f"""SELECT c.account_id {sel.sql} AND {test}
              AND ({after_} IS NULL OR c.account_id > {after_})
            ORDER BY c.account_id LIMIT {sel.param(limit, "integer")}""",
        *sel.args,
    )
    return [r["account_id"] for r in rows]


# What an export reads of each customer: the file, the scope's counters, and at a merchant how
# the customer joined its file (an imported member shows only what they consented to).
_EXPORT = """c.account_id, c.title, c.first_name, c.last_name, c.email, c.phone, c.address,
    c.postal_code, c.town, c.language, c.enrolled_at, {visits} AS visit_count,
    {spent} AS total_spent_cents, {last} AS last_visit_at, {joined} AS joined_how"""


async def export_page(
    conn: asyncpg.Connection, s: Segment, channel: str | None, after: UUID | None, limit: int
) -> list[asyncpg.Record]:
    """A page of the segment's customers to export (only the consenting ones of ``channel``
    when one is given), by account."""
    sel = selection(s)
    col = _NETWORK if s.merchant_id is None else _MERCHANT
    joined = "NULL::text" if s.merchant_id is None else "m.joined_how"
    test = "" if channel is None else f"AND {consented(sel, s, channel)}"
    columns = _EXPORT.format(joined=joined, **col)
    after_ = sel.param(after, "uuid")
    return await conn.fetch(  # type: ignore[no-any-return]
        f"""SELECT {columns} {sel.sql} {test}
              AND ({after_} IS NULL OR c.account_id > {after_})
            ORDER BY c.account_id LIMIT {sel.param(limit, "integer")}""",
        *sel.args,
    )


async def merchant_channels(
    conn: asyncpg.Connection, merchant_id: UUID, accounts: list[UUID]
) -> dict[UUID, set[str]]:
    """The channels each account consented to at the merchant (not withdrawn): what an
    imported member lets the merchant see of their contact details."""
    rows = await conn.fetch(
        """SELECT account_id, channel FROM consents
           WHERE account_id = ANY($1::uuid[]) AND merchant_id = $2 AND status <> 'withdrawn'""",
        accounts,
        merchant_id,
    )
    out: dict[UUID, set[str]] = {}
    for r in rows:
        out.setdefault(r["account_id"], set()).add(r["channel"])
    return out


# --- saved segments ---------------------------------------------------------------------------

_COLUMNS = """id, association_id, merchant_id, name, filters::text AS filters, created_at,
              updated_at"""


def _decoded(row: asyncpg.Record) -> dict[str, Any]:
    return {**dict(row), "filters": json.loads(row["filters"])}


async def save(
    conn: asyncpg.Connection,
    segment_id: UUID,
    association_id: UUID,
    merchant_id: UUID | None,
    name: str,
    filters: dict[str, Any],
    at: datetime,
) -> dict[str, Any] | None:
    """The segment made or changed (its scope stays as first made); None: another scope."""
    row = await conn.fetchrow(
        f"""INSERT INTO segments (id, association_id, merchant_id, name, filters, created_at,
                                  updated_at)
            VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $6)
            ON CONFLICT (id) DO UPDATE SET name = $4, filters = $5::text::jsonb, updated_at = $6
            WHERE segments.association_id = $2 AND segments.merchant_id IS NOT DISTINCT FROM $3
            RETURNING {_COLUMNS}""",
        segment_id,
        association_id,
        merchant_id,
        name,
        json.dumps(filters),
        at,
    )
    return None if row is None else _decoded(row)


async def one(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID, segment_id: UUID
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM segments WHERE id = $1 AND association_id = $2",
        segment_id,
        association_id,
    )
    return None if row is None else _decoded(row)


async def of_association(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID, merchant_id: UUID | None
) -> list[dict[str, Any]]:
    """The association's segments (only one merchant's, when ``merchant_id`` is given)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM segments
            WHERE association_id = $1 AND ($2::uuid IS NULL OR merchant_id = $2)
            ORDER BY lower(name), id""",
        association_id,
        merchant_id,
    )
    return [_decoded(r) for r in rows]


async def in_use(conn: asyncpg.Connection, segment_id: UUID) -> int:
    """The campaigns that still follow the segment (not sent yet nor cancelled, or monthly)."""
    n: int = await conn.fetchval(
        """SELECT count(*) FROM campaigns
           WHERE segment_id = $1 AND cancelled_at IS NULL
             AND (segment_frozen_at IS NULL OR monthly_day IS NOT NULL)""",
        segment_id,
    )
    return n


async def delete(conn: asyncpg.Connection, segment_id: UUID) -> None:
    """The segment gone; campaigns sent to it keep the filters they recorded, not the link."""
    await conn.execute("UPDATE campaigns SET segment_id = NULL WHERE segment_id = $1", segment_id)
    await conn.execute("DELETE FROM segments WHERE id = $1", segment_id)
