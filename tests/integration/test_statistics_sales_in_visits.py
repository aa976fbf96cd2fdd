"""crm migration 0021: a member's sale is written once, as its visit. On a schema of its own
migrated to 0020 and given what the earlier version wrote (a sale, its statistics line and its
name left for the roll-up; a placeholder a cancellation left; a visit older than the
statistics; a sale without a member), the migration moves each sale's association and reward
onto its visit and drops the sales' lines; the roll-up then counts the sale it had pending, from
its visit, once; a placeholder is still no sale until its sale fills it."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest

from services.crm.adapters import customers
from services.crm.adapters import statistics_roll_up as roll_up
from services.crm.domain.visits import Visit
from shared.db import migrate
from tests import harness

CRM = Path(__file__).resolve().parents[2] / "services" / "crm" / "migrations"
SCHEMA = "crm_sales_in_visits"
AT = datetime(1992, 5, 4, 9, 30, tzinfo=UTC)


async def test_migration_0021_moves_the_sales_lines_onto_their_visits(tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(CRM.glob("*.sql")):
        if path.name < "0021":
            shutil.copy(path, before)
    admin = await asyncpg.connect(harness.DATABASE_URL)
    try:
        await admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await migrate(harness.DATABASE_URL, SCHEMA, before)
        await admin.execute(f"SET search_path = {SCHEMA}, public")
        association, merchant, shop, account = (uuid.uuid4() for _ in range(4))
        sale, placeholder, older, anonymous = (uuid.uuid4() for _ in range(4))
        await admin.execute(
            "INSERT INTO customers (account_id, association_id) VALUES ($1, $2)",
            account,
            association,
        )
        await admin.executemany(
            """INSERT INTO visits (sale_id, account_id, merchant_id, shop_id, amount_cents,
                                   occurred_at, cancelled_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            [
                (sale, account, merchant, shop, 4000, AT, None),
                (placeholder, account, merchant, shop, 700, AT, AT),
                (older, account, merchant, shop, 900, AT, None),
            ],
        )
        await admin.executemany(
            """INSERT INTO statistics_lines (kind, id, association_id, merchant_id, shop_id,
                   account_id, occurred_at, day, amount_cents, reward_cents)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            [
                ("sale", sale, association, merchant, shop, account, AT, AT.date(), 4000, 120),
                (
                    "anonymous_sale",
                    anonymous,
                    association,
                    merchant,
                    shop,
                    None,
                    AT,
                    AT.date(),
                    500,
                    0,
                ),
            ],
        )
        await admin.execute("INSERT INTO statistics_uncounted (kind, id) VALUES ('sale', $1)", sale)

        assert await migrate(harness.DATABASE_URL, SCHEMA, CRM) == [
            f"{SCHEMA}/0021_statistics_sales_in_visits"
        ]

        visits = {
            r["sale_id"]: (r["association_id"], r["reward_cents"])
            for r in await admin.fetch("SELECT sale_id, association_id, reward_cents FROM visits")
        }
        assert visits == {
            sale: (association, 120),
            placeholder: (association, None),  # still waiting for its sale
            older: (association, 0),
        }
        lines = await admin.fetch("SELECT kind, id FROM statistics_lines")
        assert [(r["kind"], r["id"]) for r in lines] == [("anonymous_sale", anonymous)]
        with pytest.raises(asyncpg.CheckViolationError):
            await admin.execute(
                """INSERT INTO statistics_lines (kind, id, association_id, merchant_id, shop_id,
                       occurred_at, day, amount_cents)
                   VALUES ('sale', $1, $2, $3, $4, $5, $6, 1)""",
                uuid.uuid4(),
                association,
                merchant,
                shop,
                AT,
                AT.date(),
            )

        async with admin.transaction():
            assert await roll_up.roll_up(admin, 100) == 1  # the pending sale, from its visit
        # The placeholder's sale comes: it fills the placeholder and is named once; sent
        # again, it is not named again.
        filled = Visit(placeholder, account, association, merchant, shop, 700, None, AT, 21)
        assert await customers.insert_visits(admin, [filled]) == set()  # cancelled: no visit
        assert await customers.insert_visits(admin, [filled]) == set()
        async with admin.transaction():
            assert await roll_up.roll_up(admin, 100) == 1
        day = await admin.fetchrow(
            """SELECT member_sales, member_sales_cents, anonymous_sales, rewards_granted_cents
               FROM statistics_days WHERE scope_id = $1 AND day = $2""",
            association,
            date(1992, 5, 4),
        )
        # the sale counted once (4000 + 700: the placeholder's sale is a sale, its
        # cancellation was never recorded here); the line without a member was counted
        # before the migration, in 0020's way, not here: it was never named
        assert dict(day) == {
            "member_sales": 2,
            "member_sales_cents": 4700,
            "anonymous_sales": 0,
            "rewards_granted_cents": 141,
        }
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await admin.close()
