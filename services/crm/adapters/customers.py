"""The customer files in PostgreSQL: every statement of the crm service is here.

The counters are upserts over arrays (``shared.db.query.Batch``), one statement per table and
batch of events, their rows in the order ``domain`` sorted them (the lock order)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.crm.domain.visits import Cancellation, Counted, CustomerCard, Enrolment, Tally, Visit
from shared.db.query import Batch, one_or_404

# A visit already there counts no more. A placeholder left by a cancellation that came first
# (no reward yet) gets the sale's details once, and stays out of the counters.
VISITS = Batch(
    "visits",
    [
        ("sale_id", "uuid"),
        ("account_id", "uuid"),
        ("association_id", "uuid"),
        ("merchant_id", "uuid"),
        ("shop_id", "uuid"),
        ("amount_cents", "bigint"),
        ("reward_cents", "bigint"),
        ("product_family", "text"),
        ("occurred_at", "timestamptz"),
    ],
    """ON CONFLICT (sale_id) DO UPDATE SET amount_cents = excluded.amount_cents,
           reward_cents = excluded.reward_cents, product_family = excluded.product_family,
           occurred_at = excluded.occurred_at
       WHERE visits.reward_cents IS NULL
       RETURNING sale_id, cancelled_at""",
)
# The visit is also the sale's statistics line (migration 0021): the sales it writes, or fills
# a placeholder with, are named for the statistics' roll-up by the same statement.
_VISITS_NAMED = f"""WITH fresh AS ({VISITS.sql}),
    named AS (INSERT INTO statistics_uncounted (kind, id) SELECT 'sale', sale_id FROM fresh)
    SELECT sale_id, cancelled_at FROM fresh"""

ADD_TO_CUSTOMERS = Batch(
    "customers",
    [
        ("account_id", "uuid"),
        ("association_id", "uuid"),
        ("visit_count", "int"),
        ("total_spent_cents", "bigint"),
        ("last_visit_at", "timestamptz"),
    ],
    """ON CONFLICT (account_id) DO UPDATE SET
           visit_count = customers.visit_count + excluded.visit_count,
           total_spent_cents = customers.total_spent_cents + excluded.total_spent_cents,
           last_visit_at = greatest(customers.last_visit_at, excluded.last_visit_at)""",
)

_MERCHANT_FILE = [
    ("account_id", "uuid"),
    ("merchant_id", "uuid"),
    ("visit_count", "int"),
    ("total_spent_cents", "bigint"),
    ("first_visit_at", "timestamptz"),
    ("last_visit_at", "timestamptz"),
]

ADD_TO_MERCHANT_FILES = Batch(
    "merchant_customers",
    _MERCHANT_FILE,
    """ON CONFLICT (account_id, merchant_id) DO UPDATE SET
           visit_count = merchant_customers.visit_count + excluded.visit_count,
           total_spent_cents = merchant_customers.total_spent_cents + excluded.total_spent_cents,
           first_visit_at = least(merchant_customers.first_visit_at, excluded.first_visit_at),
           last_visit_at = greatest(merchant_customers.last_visit_at, excluded.last_visit_at)""",
)

# One statement, so a sale and its cancellation handled at the same time cannot both miss each
# other: either the visit is there and is marked, or a cancelled placeholder is left for the
# sale (whose amount a whole cancellation carries). xmax = 0: inserted just now.
CANCEL_VISITS = Batch(
    "visits",
    [
        ("sale_id", "uuid"),
        ("account_id", "uuid"),
        ("association_id", "uuid"),
        ("merchant_id", "uuid"),
        ("shop_id", "uuid"),
        ("amount_cents", "bigint"),
        ("occurred_at", "timestamptz"),
        ("cancelled_at", "timestamptz"),
    ],
    """ON CONFLICT (sale_id) DO UPDATE SET cancelled_at = excluded.cancelled_at
       WHERE visits.cancelled_at IS NULL
       RETURNING visits.account_id, visits.merchant_id, visits.amount_cents, visits.occurred_at,
                 (visits.xmax = 0) AS placeholder""",
)

# An upsert, not an UPDATE ... FROM: it takes the row locks in the sorted order. The rows are
# there (a counted visit made them); last visits are found again among those left.
SUBTRACT_FROM_CUSTOMERS = Batch(
    "customers",
    [
        ("account_id", "uuid"),
        ("association_id", "uuid"),
        ("visit_count", "int"),
        ("total_spent_cents", "bigint"),
    ],
    """ON CONFLICT (account_id) DO UPDATE SET
           visit_count = customers.visit_count - excluded.visit_count,
           total_spent_cents = customers.total_spent_cents - excluded.total_spent_cents,
           last_visit_at = (SELECT max(v.occurred_at) FROM visits v
                            WHERE v.account_id = customers.account_id AND v.cancelled_at IS NULL)""",
)

SUBTRACT_FROM_MERCHANT_FILES = Batch(
    "merchant_customers",
    _MERCHANT_FILE,
    """ON CONFLICT (account_id, merchant_id) DO UPDATE SET
           visit_count = merchant_customers.visit_count - excluded.visit_count,
           total_spent_cents = merchant_customers.total_spent_cents - excluded.total_spent_cents,
           first_visit_at = coalesce((SELECT min(v.occurred_at) FROM visits v
                                      WHERE v.account_id = merchant_customers.account_id
                                        AND v.merchant_id = merchant_customers.merchant_id
                                        AND v.cancelled_at IS NULL),
                                     merchant_customers.first_visit_at),
           last_visit_at = coalesce((SELECT max(v.occurred_at) FROM visits v
                                     WHERE v.account_id = merchant_customers.account_id
                                       AND v.merchant_id = merchant_customers.merchant_id
                                       AND v.cancelled_at IS NULL),
                                    merchant_customers.last_visit_at)""",
)

# crm owns the details since issue 13: an account opened again (or the event of an opening
# arriving after the customer corrected their file) fills in what is missing, never
# overwrites, and an erased file stays erased.
ENROLMENTS = Batch(
    "customers",
    [
        ("account_id", "uuid"),
        ("association_id", "uuid"),
        ("phone", "text"),
        ("email", "text"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("enrolled_at", "timestamptz"),
        ("enrolled_by_merchant", "uuid"),
        ("title", "text"),
    ],
    """ON CONFLICT (account_id) DO UPDATE SET phone = coalesce(customers.phone, excluded.phone),
           email = coalesce(customers.email, excluded.email),
           first_name = coalesce(customers.first_name, excluded.first_name),
           last_name = coalesce(customers.last_name, excluded.last_name),
           title = coalesce(customers.title, excluded.title),
           enrolled_at = coalesce(customers.enrolled_at, excluded.enrolled_at),
           enrolled_by_merchant = coalesce(customers.enrolled_by_merchant,
                                           excluded.enrolled_by_merchant)
       WHERE customers.erased_at IS NULL""",
)

CARDS = Batch(
    "customer_cards",
    [
        ("card_number", "text"),
        ("account_id", "uuid"),
        ("issued_at", "timestamptz"),
        ("replaces", "text"),
    ],
    "ON CONFLICT (card_number) DO NOTHING",
)


# --- the visit history ---------------------------------------------------------------------


async def insert_visits(conn: asyncpg.Connection, visits: Sequence[Visit]) -> set[UUID]:
    """The sales among ``visits`` that count now: new ones, not those already there nor those a
    cancellation came first for."""
    arrays = VISITS.arrays(
        (
            v.sale_id,
            v.account_id,
            v.association_id,
            v.merchant_id,
            v.shop_id,
            v.amount_cents,
            v.reward_cents,
            v.product_family,
            v.occurred_at,
        )
        for v in visits
    )
    rows = await conn.fetch(_VISITS_NAMED, *arrays)
    return {r["sale_id"] for r in rows if r["cancelled_at"] is None}


async def cancel_visits(
    conn: asyncpg.Connection, cancellations: Sequence[Cancellation]
) -> list[Counted]:
    """Mark the visits cancelled; the ones that had counted (not the placeholders just left)."""
    association = {c.account_id: c.association_id for c in cancellations}
    rows = await CANCEL_VISITS.fetch(
        conn,
        (
            (
                c.sale_id,
                c.account_id,
                c.association_id,
                c.merchant_id,
                c.shop_id,
                c.amount_cents,
                c.occurred_at,
                c.occurred_at,
            )
            for c in cancellations
        ),
    )
    return [
        Counted(
            r["account_id"],
            association[r["account_id"]],
            r["merchant_id"],
            r["amount_cents"],
            r["occurred_at"],
        )
        for r in rows
        if not r["placeholder"]
    ]


# --- the counters --------------------------------------------------------------------------


async def add_to_customers(
    conn: asyncpg.Connection, tallies: Sequence[tuple[UUID, UUID, Tally]]
) -> None:
    await ADD_TO_CUSTOMERS.execute(
        conn, ((a, assoc, t.visits, t.spent_cents, t.last_at) for a, assoc, t in tallies)
    )


async def add_to_merchant_files(
    conn: asyncpg.Connection, tallies: Sequence[tuple[UUID, UUID, Tally]]
) -> None:
    await ADD_TO_MERCHANT_FILES.execute(
        conn, ((a, m, t.visits, t.spent_cents, t.first_at, t.last_at) for a, m, t in tallies)
    )


async def subtract_from_customers(
    conn: asyncpg.Connection, tallies: Sequence[tuple[UUID, UUID, Tally]]
) -> None:
    await SUBTRACT_FROM_CUSTOMERS.execute(
        conn, ((a, assoc, t.visits, t.spent_cents) for a, assoc, t in tallies)
    )


async def subtract_from_merchant_files(
    conn: asyncpg.Connection, tallies: Sequence[tuple[UUID, UUID, Tally]]
) -> None:
    await SUBTRACT_FROM_MERCHANT_FILES.execute(
        conn, ((a, m, t.visits, t.spent_cents, t.first_at, t.last_at) for a, m, t in tallies)
    )


# --- the customer's details and cards --------------------------------------------------------


async def save_enrolments(conn: asyncpg.Connection, enrolments: Sequence[Enrolment]) -> None:
    await ENROLMENTS.execute(conn, enrolments)


async def save_cards(conn: asyncpg.Connection, cards: Sequence[CustomerCard]) -> None:
    await CARDS.execute(conn, cards)


# --- reading a file --------------------------------------------------------------------------

# The merchant who enrolled the customer is shown as text (the file's API says a string).
_CUSTOMER = """SELECT account_id, association_id, phone, email, first_name, last_name, enrolled_at,
                     enrolled_by_merchant::text AS enrolled_by_merchant, visit_count,
                     total_spent_cents, last_visit_at
              FROM customers WHERE account_id = $1"""


async def customer(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> asyncpg.Record:
    """The customer's file, or a 404 ``unknown_customer``."""
    return await one_or_404(conn, "customer", account_id, _CUSTOMER, account_id)


async def merchant_files(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    """The customer's file at each merchant visited, the last visited first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM merchant_customers WHERE account_id = $1 ORDER BY last_visit_at DESC",
        account_id,
    )
    return rows
