"""The SQL of the sponsorship results in the statistics: links and rewards counted from
crm's sponsorship tables by their times (indexes of migration 0012), and their detail lines.
The sponsored members' figures come with the other per-member ones (adapters/statistics.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

# Where a link (and its rewards) counts: the merchant where the newcomer enrolled, its
# association, the network.
_LINKS = {
    "merchant": "s.merchant_id = $1",
    "association": "s.association_id = $1",
    "network": "$1::uuid IS NULL",
}


async def sums(
    conn: asyncpg.Connection,
    kind: str,
    scope_id: UUID | None,
    first: datetime,
    start: datetime,
    end: datetime,
) -> dict[bool, dict[str, int]]:
    """Links and rewards over [first, start) (False) and [start, end) (True)."""
    links = await conn.fetch(
        f"""SELECT s.linked_at >= $3 AS current, count(*)::bigint AS newcomers
            FROM sponsorships s
            WHERE {_LINKS[kind]} AND s.linked_at >= $2 AND s.linked_at < $4
            GROUP BY 1""",
        scope_id,
        first,
        start,
        end,
    )
    # A merchant's rewards: those of the newcomers who enrolled at it (the rewards table has
    # the funder, not the merchant of the link).
    source = "sponsorship_rewards r"
    where = _LINKS[kind].replace("s.", "r.")
    if kind == "merchant":
        source += " JOIN sponsorships s USING (newcomer_id)"
        where = _LINKS[kind]
    rewards = await conn.fetch(
        f"""SELECT r.occurred_at >= $3 AS current,
                   count(*) FILTER (WHERE {_granted("sponsor")}) AS sponsor_rewards,
                   coalesce(sum(r.amount_cents) FILTER (WHERE {_granted("sponsor")}), 0)
                       AS sponsor_rewards_cents,
                   count(*) FILTER (WHERE r.role = 'sponsor' AND r.status = 'capped')
                       AS sponsor_rewards_capped,
                   count(*) FILTER (WHERE {_granted("newcomer")}) AS newcomer_rewards,
                   coalesce(sum(r.amount_cents) FILTER (WHERE {_granted("newcomer")}), 0)
                       AS newcomer_rewards_cents
            FROM {source}
            WHERE {where} AND r.occurred_at >= $2 AND r.occurred_at < $4
            GROUP BY 1""",
        scope_id,
        first,
        start,
        end,
    )
    out: dict[bool, dict[str, int]] = {True: {}, False: {}}
    for row in [*links, *rewards]:
        out[row["current"]].update({k: int(v) for k, v in dict(row).items() if k != "current"})
    return out


# A reward taken back (its qualifying sale cancelled: a reversal cards was asked to make and
# did not refuse) leaves the figures of its day, as a cancelled sale leaves its day's.
_TAKEN_BACK = """EXISTS (SELECT 1 FROM sponsorship_reward_reversals x
                        WHERE x.reward_id = r.id AND x.status IN ('asked', 'done'))"""


def _granted(role: str) -> str:
    # A reward of 0 (a programme giving one side nothing) is not credited: not a reward.
    return (
        f"r.role = '{role}' AND r.status = 'granted' AND r.amount_cents > 0 AND NOT {_TAKEN_BACK}"
    )


async def lines(
    conn: asyncpg.Connection, kind: str, scope_id: UUID | None, start: datetime, end: datetime
) -> list[asyncpg.Record]:
    """The links and the rewards decided in [start, end): the sponsorship file's lines
    (``sponsor_id``: a link's sponsor, a reward's credited account; ``merchant_id``: where the
    newcomer enrolled, a reward's funder; ``status``: how a link was made, a reward's)."""
    source = "sponsorship_rewards r"
    where = _LINKS[kind].replace("s.", "r.")
    if kind == "merchant":
        source += " JOIN sponsorships s USING (newcomer_id)"
        where = _LINKS[kind]
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT * FROM (
                SELECT s.linked_at AS at, 'link' AS nature, s.newcomer_id, s.sponsor_id,
                       s.merchant_id, NULL::text AS role, s.how AS status,
                       0::bigint AS amount_cents
                FROM sponsorships s
                WHERE {_LINKS[kind]} AND s.linked_at >= $2 AND s.linked_at < $3
                UNION ALL
                SELECT r.occurred_at, r.role || '_reward', r.newcomer_id, r.account_id,
                       r.funded_by, r.role,
                       CASE WHEN {_TAKEN_BACK} THEN 'reversed' ELSE r.status END,
                       CASE WHEN {_TAKEN_BACK} THEN 0 ELSE r.amount_cents END
                FROM {source}
                WHERE {where} AND r.occurred_at >= $2 AND r.occurred_at < $3
            ) AS l ORDER BY at, nature, newcomer_id, role""",
        scope_id,
        start,
        end,
    )
    return rows


_MEMBERS = {"shop": "shop_id", "merchant": "merchant_id", "association": "association_id"}


def sponsored_sql(kind: str) -> str:
    """Each member with a sponsor who visited (or returned goods in) the scope in [$2, $3]:
    visits and net spending (the sponsored file's lines)."""
    return f"""SELECT c.account_id, s.sponsor_id, c.visits, c.spent_cents
               FROM (SELECT account_id, sum(visits)::bigint AS visits,
                            sum(spent_cents)::bigint AS spent_cents
                     FROM statistics_customer_days
                     WHERE {_MEMBERS[kind]} = $1 AND day BETWEEN $2 AND $3
                     GROUP BY account_id) AS c
               JOIN sponsorships s ON s.newcomer_id = c.account_id
               ORDER BY c.spent_cents DESC, c.account_id"""
