"""The answers of crm's routes, built from the use cases' reads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.crm.entrypoints.http.models import CustomerFile, FormDetails, Member, MerchantFile
from services.crm.service import customers
from shared.db.query import as_model, as_models


async def customer_file(pool: asyncpg.Pool | asyncpg.Connection, account_id: UUID) -> CustomerFile:
    file, to_fill, merchants = await customers.read(pool, account_id)
    return as_model(
        CustomerFile,
        {
            **dict(file),
            "children_birthdays": list(file["children_birthdays"] or []),
            "to_fill": to_fill,
            "merchants": as_models(MerchantFile, merchants),
        },
    )


def form(file: asyncpg.Record, to_fill: list[str]) -> FormDetails:
    data: dict[str, Any] = {**dict(file), "to_fill": to_fill}
    data["children_birthdays"] = list(file["children_birthdays"] or [])
    return as_model(FormDetails, data)


async def member(pool: asyncpg.Pool, merchant_id: UUID, account_id: UUID, requested: int) -> Member:
    row = await customers.member(pool, merchant_id, account_id)
    return as_model(Member, {**dict(row), "messages_requested": requested})
