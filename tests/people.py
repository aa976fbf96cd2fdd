"""Helpers of the tests about people's data (crm's customer file, consent, the GDPR rights):
crm's API called as the back office or as the person following a link, a fresh mobile, and
the search of every table of every schema for what an erasure must have removed."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import aiohttp
import asyncpg

from tests import harness
from tests.conftest import BOOKS_START, SCHEMAS, Network, eventually
from tests.watch import watching

CRM = harness.url("crm")
CARDS = harness.url("cards")
ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}


def new_phone() -> str:
    """A French mobile no other test uses."""
    return "+3361" + f"{uuid.uuid4().int % 10**7:07d}"


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None, admin: bool = True
) -> tuple[int, Any]:
    """The status and JSON body of a call, as the back office (``admin``) or as anyone."""
    async with http.request(method, url, json=body, headers=ADMIN if admin else {}) as r:
        return r.status, await r.json(content_type=None)


async def file_of(http: aiohttp.ClientSession, account: str) -> dict[str, Any]:
    """The customer's file in crm, once crm has heard of the account."""

    async def there() -> bool:
        return (await call(http, "GET", f"{CRM}/v1/customers/{account}"))[0] == 200

    await eventually(there, what="the crm file")
    return (await call(http, "GET", f"{CRM}/v1/customers/{account}"))[1]  # type: ignore[no-any-return]


async def outboxes_empty(conn: asyncpg.Connection) -> bool:
    """Every service has published what it wrote (an erasure's events are on their way
    until then)."""
    for s in SCHEMAS[:-1]:
        if await conn.fetchval(f'SELECT count(*) FROM "{s}".outbox'):
            return False
    return True


async def found_anywhere(conn: asyncpg.Connection, needles: list[str]) -> list[str]:
    """Every text column (text, varchar, json, jsonb, arrays) of every table of every schema
    of the services holding one of ``needles``."""
    columns = await conn.fetch(
        """SELECT c.table_schema, c.table_name, c.column_name
           FROM information_schema.columns c
           JOIN information_schema.tables t
             ON (t.table_schema, t.table_name) = (c.table_schema, c.table_name)
           WHERE c.table_schema = ANY($1::text[]) AND t.table_type = 'BASE TABLE'
             AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb',
                                 'ARRAY', 'USER-DEFINED')""",
        list(SCHEMAS),
    )
    assert len(columns) > 50, columns
    patterns = [f"%{n}%" for n in needles]
    hits = []
    for c in columns:
        where = f'"{c["table_schema"]}"."{c["table_name"]}"'
        n = await conn.fetchval(
            f'SELECT count(*) FROM {where} WHERE "{c["column_name"]}"::text ILIKE ANY($1)',
            patterns,
        )
        if n:
            hits.append(f"{where}.{c['column_name']}: {n}")
    return hits


async def card_issued(
    http: aiohttp.ClientSession, association_id: Any, account: str, last_name: str, name: str
) -> dict[str, Any]:
    """The association's card program (merchant rates, an issuer prefix of its own) and a card
    issued on ``account`` in ``last_name``: the card as cards answers it."""
    status, _ = await call(
        http,
        "PUT",
        f"{CARDS}/v1/associations/{association_id}",
        {
            "name": name,
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "books_start": BOOKS_START,
            "issuer_prefix": f"{700000 + secrets.randbelow(100000)}",
        },
    )
    assert status == 200
    status, card = await call(
        http,
        "POST",
        f"{CARDS}/v1/associations/{association_id}/cards",
        {"issue_id": str(uuid.uuid4()), "account_id": account, "last_name": last_name},
    )
    assert status == 201, card
    return card  # type: ignore[no-any-return]


# --- crm's triggers: a customer enrolled at the till, a confirmed consent, a trigger ----------


def new_email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.fr"


async def customer(
    net: Network, http: aiohttp.ClientSession, email: bool = True, **details: Any
) -> str:
    enrolled = await net.terminals[0].enrol(
        new_phone(), **({"email": new_email()} if email else {})
    )
    assert enrolled.status == 201, enrolled
    account: str = enrolled.body["account_id"]
    await file_of(http, account)
    if details:
        status, body = await call(http, "PATCH", f"{CRM}/v1/customers/{account}", details)
        assert status == 200, body
    return account


async def email_consent(http: aiohttp.ClientSession, account: str, merchant: str | None) -> None:
    """A confirmed e-mail consent (double opt-in: the link clicked)."""
    async with watching("message.requested.v1") as watch:
        body = {"channel": "email", "how": "till"} | ({"merchant_id": merchant} if merchant else {})
        status, asked = await call(http, "POST", f"{CRM}/v1/customers/{account}/consents", body)
        assert status == 201, asked
        m = await watch.wait_for(
            lambda d: d["account_id"] == account and d["template"] == "consent_email_confirm"
        )
    status, done = await call(http, "POST", m["variables"]["url"], admin=False)
    assert (status, done["status"]) == (200, "confirmed")


async def trigger(http: aiohttp.ClientSession, net: Network, **body: Any) -> str:
    trigger = str(uuid.uuid4())
    status, saved = await call(
        http,
        "PUT",
        f"{CRM}/v1/triggers/{trigger}",
        {"association_id": str(net.association_id), "channel": "email"} | body,
    )
    assert status == 200, saved
    return trigger


async def messages_of(http: aiohttp.ClientSession, account: str, template: str) -> list[Any]:
    _, found = await call(http, "GET", f"{CRM}/v1/customers/{account}/messages")
    return [m for m in found["messages"] if m["template"] == template]
