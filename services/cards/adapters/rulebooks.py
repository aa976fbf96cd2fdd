"""Where the rule books come from: the catalogue's tables at one ``rules_version``, and the
bump of that version in the transaction of every change to what a sale earns."""

from __future__ import annotations

import asyncpg

from services.cards.domain.rulebooks import Row, Snapshot

_QUERIES = {
    "associations": "SELECT * FROM associations",
    "merchants": "SELECT * FROM merchants",
    "programs": "SELECT * FROM programs",
    "card_types": "SELECT * FROM card_types",
    "families": "SELECT * FROM product_families",
    "type_rates": "SELECT * FROM card_type_rates",
    "acceptances": "SELECT * FROM acceptances",
    "promotions": "SELECT * FROM promotions WHERE withdrawn_at IS NULL",
}


async def bump(conn: asyncpg.Connection) -> None:
    """Call in the transaction of any change to programs, rates, families, promotions,
    card types or acceptances."""
    await conn.execute("UPDATE rules_version SET version = version + 1")


class RuleBooks:
    """The current snapshot, reloaded when ``rules_version`` has moved."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None

    async def current(self, conn: asyncpg.Connection) -> Snapshot:
        version = await conn.fetchval("SELECT version FROM rules_version")
        if self._snapshot is None or self._snapshot.version != version:
            # Inside a handler's transaction this reads what that transaction sees; a change
            # committed meanwhile bumps the version again and is loaded at the next batch.
            rows: dict[str, list[Row]] = {
                k: [dict(r) for r in await conn.fetch(q)] for k, q in _QUERIES.items()
            }
            self._snapshot = Snapshot(version, rows)
        return self._snapshot


# One per process, shared by the event handlers and the dry run.
BOOKS = RuleBooks()
