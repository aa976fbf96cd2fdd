"""What clearing holds of a cardholder (GDPR access, asked by crm)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.clearing.adapters import people
from shared.http import Problem


async def held(pool: asyncpg.Pool, account_id: UUID) -> dict[str, Any]:
    """The holder's names and the journal's lines of the account; 404 when clearing knows
    neither."""
    holder = await people.holder(pool, account_id)
    lines = await people.lines(pool, account_id)
    if holder is None and not lines:
        raise Problem(404, "Unknown holder", f"no holder {account_id}", reason="unknown_holder")
    return {"holder": None if holder is None else dict(holder), "lines": [dict(r) for r in lines]}
