"""Sponsorship in PostgreSQL (F22): referral codes, programmes, the links between newcomers and
their sponsors, the rewards decided, and the best sponsors' figures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, TypeAlias
from uuid import UUID

import asyncpg

from services.crm.domain.sponsorship import Programme, Reward, Role

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool
ZERO = UUID(int=0)

# --- referral codes ---------------------------------------------------------------------------


async def code_of(conn: Db, account_id: UUID) -> str | None:
    code: str | None = await conn.fetchval(
        "SELECT code FROM referral_codes WHERE account_id = $1", account_id
    )
    return code


async def codes_of(conn: Db, account_ids: list[UUID]) -> dict[UUID, str]:
    """The codes these accounts hold (those without one are left out)."""
    rows = await conn.fetch(
        "SELECT account_id, code FROM referral_codes WHERE account_id = ANY($1::uuid[])",
        account_ids,
    )
    return {r["account_id"]: r["code"] for r in rows}


async def insert_code(
    conn: asyncpg.Connection, account_id: UUID, association_id: UUID, code: str, at: datetime
) -> bool:
    """False when the account has a code already or the code is taken in the association."""
    done = await conn.fetchval(
        """INSERT INTO referral_codes (account_id, association_id, code, created_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
        account_id,
        association_id,
        code,
        at,
    )
    return bool(done)


async def holder_of_code(
    conn: asyncpg.Connection, association_id: UUID, code: str
) -> asyncpg.Record | None:
    """The customer (not erased) with this code in the association."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT c.account_id, c.association_id, c.first_name
           FROM referral_codes r JOIN customers c ON c.account_id = r.account_id
           WHERE r.association_id = $1 AND r.code = $2 AND c.erased_at IS NULL""",
        association_id,
        code,
    )
    return row


# --- links ------------------------------------------------------------------------------------


async def sponsorship(conn: Db, newcomer_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM sponsorships WHERE newcomer_id = $1", newcomer_id
    )
    return row


async def chain_up(conn: asyncpg.Connection, account_id: UUID) -> list[UUID]:
    """The account's sponsor, that sponsor's sponsor, and so on (a loop cannot be stored, but
    the walk stops at one anyway)."""
    rows = await conn.fetch(
        """WITH RECURSIVE up (id) AS (
               SELECT sponsor_id FROM sponsorships WHERE newcomer_id = $1
               UNION
               SELECT s.sponsor_id FROM sponsorships s JOIN up ON s.newcomer_id = up.id
           ) SELECT id FROM up""",
        account_id,
    )
    return [r["id"] for r in rows]


async def insert_sponsorship(
    conn: asyncpg.Connection,
    newcomer_id: UUID,
    sponsor_id: UUID,
    association_id: UUID,
    merchant_id: UUID | None,
    how: str,
    at: datetime,
) -> bool:
    done = await conn.fetchval(
        """INSERT INTO sponsorships (newcomer_id, sponsor_id, association_id, merchant_id, how,
                                    linked_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
        newcomer_id,
        sponsor_id,
        association_id,
        merchant_id,
        how,
        at,
    )
    return bool(done)


async def lock_links(conn: asyncpg.Connection, association_id: UUID) -> None:
    """Links in an association are made one at a time: two crossed links (A sponsors B while B
    sponsors A) cannot both pass the loop check."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm.sponsorship:' || $1::uuid::text, 0))",
        association_id,
    )


async def undecided_for_update(
    conn: asyncpg.Connection, newcomer_ids: list[UUID]
) -> list[asyncpg.Record]:
    """The sponsorships of these newcomers whose rewards are still to decide, locked (in the
    order of the newcomers' ids: two batches wait for each other, never in a cycle)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM sponsorships WHERE newcomer_id = ANY($1::uuid[]) AND decided_at IS NULL
           ORDER BY newcomer_id FOR UPDATE""",
        newcomer_ids,
    )
    return rows


async def nth_purchase(
    conn: asyncpg.Connection, account_id: UUID, merchant_id: UUID | None, n: int
) -> asyncpg.Record | None:
    """The account's n-th purchase not cancelled (at the merchant, or anywhere), a sale whose
    rewards were taken back (returned whole) not counted either."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT sale_id, merchant_id, amount_cents, occurred_at FROM visits
           WHERE account_id = $1 AND cancelled_at IS NULL
             AND ($2::uuid IS NULL OR merchant_id = $2)
             AND sale_id NOT IN (SELECT sale_id FROM sponsorship_reward_reversals
                                 WHERE newcomer_id = $1)
           ORDER BY occurred_at, sale_id OFFSET $3 LIMIT 1""",
        account_id,
        merchant_id,
        n - 1,
    )
    return row


async def reopen(conn: asyncpg.Connection, newcomer_ids: list[UUID]) -> None:
    """Their rewards taken back: the sponsorships wait again for a qualifying purchase."""
    await conn.execute(
        "UPDATE sponsorships SET decided_at = NULL WHERE newcomer_id = ANY($1::uuid[])",
        newcomer_ids,
    )


async def decided(conn: asyncpg.Connection, newcomer_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE sponsorships SET decided_at = $2 WHERE newcomer_id = $1", newcomer_id, at
    )


# --- programmes -------------------------------------------------------------------------------

_PROGRAMME_COLUMNS = (
    "enabled",
    "reward_at",
    "purchase_number",
    "sponsor_amount_cents",
    "sponsor_rate_bps",
    "newcomer_amount_cents",
    "newcomer_rate_bps",
    "cap_per_sponsor",
    "cap_period",
)


async def save_programme(
    conn: asyncpg.Connection,
    programme_id: UUID,
    association_id: UUID,
    merchant_id: UUID | None,
    terms: dict[str, Any],
    at: datetime,
) -> asyncpg.Record:
    """Create the scope's programme, or replace its terms (its id stays)."""
    values = [terms[c] for c in _PROGRAMME_COLUMNS]
    sets = ", ".join(f"{c} = excluded.{c}" for c in _PROGRAMME_COLUMNS)
    row: asyncpg.Record = await conn.fetchrow(
        f"""INSERT INTO sponsorship_programmes (id, association_id, merchant_id,
                {", ".join(_PROGRAMME_COLUMNS)}, created_at, updated_at)
            VALUES ($1, $2, $3, {", ".join(f"${i}" for i in range(4, 13))}, $13, $13)
            ON CONFLICT (association_id,
                         coalesce(merchant_id, '00000000-0000-0000-0000-000000000000'))
            DO UPDATE SET {sets}, updated_at = excluded.updated_at
            RETURNING *""",
        programme_id,
        association_id,
        merchant_id,
        *values,
        at,
    )
    return row


async def programmes_of(conn: Db, association_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM sponsorship_programmes WHERE association_id = $1
           ORDER BY merchant_id NULLS FIRST""",
        association_id,
    )
    return rows


async def programmes_for(
    conn: asyncpg.Connection, association_id: UUID, merchant_id: UUID | None
) -> tuple[Programme | None, Programme | None]:
    """(the merchant's programme, the association's programme), each if any."""
    rows = await conn.fetch(
        """SELECT * FROM sponsorship_programmes WHERE association_id = $1
           AND (merchant_id IS NULL OR merchant_id = $2)""",
        association_id,
        merchant_id if merchant_id is not None else ZERO,
    )
    by_scope = {r["merchant_id"]: Programme.of(r) for r in rows}
    return (by_scope.get(merchant_id) if merchant_id else None), by_scope.get(None)


# --- rewards ----------------------------------------------------------------------------------


async def lock_sponsor(conn: asyncpg.Connection, sponsor_id: UUID) -> None:
    """A sponsor's cap is counted by one transaction at a time."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm.sponsor:' || $1::uuid::text, 0))",
        sponsor_id,
    )


# A reward cards was asked to take back (not refused): it no longer counts anywhere.
TAKEN_BACK = """EXISTS (SELECT 1 FROM sponsorship_reward_reversals x
                       WHERE x.reward_id = r.id AND x.status IN ('asked', 'done'))"""


async def granted_in_period(conn: asyncpg.Connection, sponsor_id: UUID, period: date) -> int:
    """The sponsor's rewards granted in the cap's period, those taken back not counted."""
    n: int = await conn.fetchval(
        f"""SELECT count(*) FROM sponsorship_rewards r
            WHERE account_id = $1 AND cap_period = $2 AND role = 'sponsor'
              AND status = 'granted' AND NOT {TAKEN_BACK}""",
        sponsor_id,
        period,
    )
    return n


async def roles_holding(conn: asyncpg.Connection, newcomer_id: UUID) -> frozenset[Role]:
    """The roles of this sponsorship still holding a reward granted: none taken back, its
    taking back refused by cards, or not yet answered by cards (the sponsorship is re-decided
    once all are answered; this holds a role whose answer is still to come)."""
    rows = await conn.fetch(
        """SELECT DISTINCT role FROM sponsorship_rewards r
           WHERE newcomer_id = $1 AND status = 'granted' AND amount_cents > 0
             AND NOT EXISTS (SELECT 1 FROM sponsorship_reward_reversals x
                             WHERE x.reward_id = r.id AND x.status = 'done')""",
        newcomer_id,
    )
    return frozenset(r["role"] for r in rows)


async def insert_rewards(
    conn: asyncpg.Connection,
    newcomer_id: UUID,
    p: Programme,
    rewards: list[tuple[UUID, Reward]],
    trigger: str,
    sale_id: UUID | None,
    at: datetime,
    period: date,
) -> list[UUID]:
    """The rewards decided, each once (by its id); the ids written now."""
    rows = await conn.fetch(
        """INSERT INTO sponsorship_rewards (id, newcomer_id, role, account_id, association_id,
               programme_id, funded_by, status, amount_cents, trigger, sale_id, occurred_at,
               cap_period)
           SELECT r.id, $2, r.role, r.account_id, $3, $4, $5, r.status, r.amount_cents, $6, $7,
                  $8, $9
           FROM unnest($1::uuid[], $10::text[], $11::uuid[], $12::text[], $13::bigint[])
                AS r (id, role, account_id, status, amount_cents)
           ON CONFLICT DO NOTHING RETURNING id""",
        [i for i, _ in rewards],
        newcomer_id,
        p.association_id,
        p.id,
        p.merchant_id,
        trigger,
        sale_id,
        at,
        period,
        [r.role for _, r in rewards],
        [r.account_id for _, r in rewards],
        [r.status for _, r in rewards],
        [r.amount_cents for _, r in rewards],
    )
    return [r["id"] for r in rows]


# --- reads ------------------------------------------------------------------------------------


async def rewards_of(conn: Db, account_id: UUID) -> list[asyncpg.Record]:
    """The rewards decided for an account, as sponsor or as newcomer, oldest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT r.id, r.newcomer_id, r.role, r.status, r.amount_cents, r.trigger, r.sale_id,
                  r.occurred_at, r.funded_by, x.id AS reversal_id, x.reason AS reversal_reason,
                  x.status AS reversal_status, x.occurred_at AS reversed_at
           FROM sponsorship_rewards r LEFT JOIN sponsorship_reward_reversals x
                ON x.reward_id = r.id
           WHERE r.account_id = $1 ORDER BY r.occurred_at, r.id""",
        account_id,
    )
    return rows


async def sponsorees(conn: Db, sponsor_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT newcomer_id, linked_at, how FROM sponsorships WHERE sponsor_id = $1
           ORDER BY linked_at, newcomer_id""",
        sponsor_id,
    )
    return rows


Order = Literal["revenue", "newcomers"]


async def best_sponsors(
    conn: Db,
    association_id: UUID,
    starts: datetime,
    ends: datetime,
    merchant_id: UUID | None,
    order: Order,
    limit: int,
) -> list[asyncpg.Record]:
    """The association's sponsors: the newcomers they brought (all to date, and those linked
    in the range), what those newcomers bought in the range (at the merchant, or anywhere) and the
    sponsor's rewards granted in the range."""
    rank = "revenue_cents" if order == "revenue" else "newcomers_in_range"
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""WITH s AS (
               SELECT sponsor_id, count(*) AS newcomers,
                      count(*) FILTER (WHERE linked_at >= $2 AND linked_at < $3)
                          AS newcomers_in_range
               FROM sponsorships WHERE association_id = $1
               GROUP BY sponsor_id
           ), v AS (
               SELECT s.sponsor_id, count(v.sale_id) AS purchases,
                      coalesce(sum(v.amount_cents), 0) AS revenue_cents
               FROM sponsorships s JOIN visits v ON v.account_id = s.newcomer_id
               WHERE s.association_id = $1 AND v.cancelled_at IS NULL
                 AND v.occurred_at >= $2 AND v.occurred_at < $3
                 AND ($4::uuid IS NULL OR v.merchant_id = $4)
               GROUP BY s.sponsor_id
           ), r AS (
               SELECT account_id AS sponsor_id, coalesce(sum(amount_cents), 0) AS rewards_cents
               FROM sponsorship_rewards r
               WHERE association_id = $1 AND role = 'sponsor' AND status = 'granted'
                 AND occurred_at >= $2 AND occurred_at < $3 AND NOT {TAKEN_BACK}
               GROUP BY account_id
           )
           SELECT s.sponsor_id AS account_id, c.first_name, c.last_name, s.newcomers,
                  s.newcomers_in_range, coalesce(v.purchases, 0) AS purchases,
                  coalesce(v.revenue_cents, 0)::bigint AS revenue_cents,
                  coalesce(r.rewards_cents, 0)::bigint AS rewards_cents
           FROM s LEFT JOIN v USING (sponsor_id) LEFT JOIN r USING (sponsor_id)
           LEFT JOIN customers c ON c.account_id = s.sponsor_id
           ORDER BY {rank} DESC, s.newcomers DESC, s.sponsor_id
           LIMIT $5""",
        association_id,
        starts,
        ends,
        merchant_id,
        limit,
    )
    return rows
