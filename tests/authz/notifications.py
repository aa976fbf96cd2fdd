"""notifications' back-office routes in the authorisation matrix (tests/authz/matrix.py): a
person's messages (HOLDER), a campaign's and a merchant's statements' notices and webhooks
(MANAGER), the network's listings by address (OPERATOR).

``prepare`` subscribes a webhook of each target's merchant (through the API) and writes, in
each target's scope, a message of a campaign to its customer, a statement's notice and a
failed delivery straight into notifications' tables: making them through the services would
take a campaign to consenting customers, a month closed and a subscriber's failure, none of
which this test is about. The rows that delete come last."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import asyncpg

from shared import clock
from shared.access import Need
from tests import harness
from tests.authz.matrix import (
    Request,
    Row,
    Target,
    World,
    account_only,
    merchant_only,
    no_association,
)

ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}
SUB = "/v1/webhook-subscriptions/{subscription_id}"
DELIVERY = "/v1/webhook-deliveries/{delivery_id}"


async def prepare(world: World, http: aiohttp.ClientSession) -> None:
    conn = await asyncpg.connect(harness.DATABASE_URL)
    try:
        for t in world.targets:
            await _subscribe(http, t)
            await _write(conn, t)
    finally:
        await conn.close()


async def _subscribe(http: aiohttp.ClientSession, t: Target) -> None:
    body = {
        "association_id": str(t.association_id),
        "merchant_id": str(t.merchant_id),
        "url": "http://127.0.0.1:9/matrix",  # nobody listens: a replay fails again
        "event_types": ["sale.booked"],
    }
    async with http.post(
        harness.url("notifications") + "/v1/webhook-subscriptions", json=body, headers=ADMIN
    ) as r:
        assert r.status == 201, await r.text()
        t.ids["subscription"] = (await r.json())["id"]


async def _write(conn: asyncpg.Connection, t: Target) -> None:
    now = clock.now()
    t.ids.update(
        message=str(uuid.uuid4()),
        campaign=str(uuid.uuid4()),
        statement=str(uuid.uuid4()),
        delivery=str(uuid.uuid4()),
    )
    await conn.execute(
        """INSERT INTO notifications.messages (message_id, event_id, channel, category,
               recipient, language, template, variables, association_id, merchant_id,
               account_id, campaign_id, status, requested_at, sent_at, updated_at)
           VALUES ($1, $2, 'email', 'marketing', $3, 'fr', 'quick_news', '{}', $4, $5, $6, $7,
                   'sent', $8, $8, $8)""",
        uuid.UUID(t.ids["message"]),
        uuid.uuid4(),
        f"matrix-{t.label}@example.com",
        t.association_id,
        t.merchant_id,
        t.account_id,
        uuid.UUID(t.ids["campaign"]),
        now,
    )
    await conn.execute(
        """INSERT INTO notifications.statement_notices (statement_id, event_id, association_id,
               merchant_id, merchant_name, period_start, period_end, purchases_count,
               purchases_cents, cagnottages_cents, fees_cents, redemptions_count,
               redemptions_cents, net_cents, xlsx_path, csv_path, status)
           VALUES ($1, $2, $3, $4, 'matrix', '2026-01-01', '2026-01-31', 0, 0, 0, 0, 0, 0, 0,
                   'none.xlsx', 'none.csv', 'sent')""",
        uuid.UUID(t.ids["statement"]),
        uuid.uuid4(),
        t.association_id,
        t.merchant_id,
    )
    await conn.execute(
        """INSERT INTO notifications.webhook_deliveries (id, subscription_id, occurrence_key,
               event_type, body, status, round_started_at, created_at, failed_at)
           VALUES ($1, $2, $3, 'sale.booked', '{}', 'failed', $4, $4, $4)""",
        uuid.UUID(t.ids["delivery"]),
        uuid.UUID(t.ids["subscription"]),
        f"matrix-{t.ids['delivery']}",
        now,
    )


def _path(template: str) -> Any:
    """``template`` with the target's ids (``{subscription_id}``: target.ids["subscription"])."""
    return lambda t: Request(
        template.format(**{f"{k}_id": v for k, v in t.ids.items()}, merchant_id=t.merchant_id)
    )


def _query(path: str, query: Any) -> Any:
    return lambda t: Request(path, query=query(t))


def _scope(t: Target) -> dict[str, str]:
    return {"association_id": str(t.association_id), "merchant_id": str(t.merchant_id)}


ROWS: list[Row] = [
    # A merchant's statements' notices (MANAGER): asked by the merchant alone, or with its
    # association.
    Row(
        "GET",
        "/v1/statement-notices",
        Need.MANAGER,
        _query("/v1/statement-notices", lambda t: {"merchant_id": str(t.merchant_id)}),
        merchant_only,
    ),
    Row(
        "GET",
        "/v1/statement-notices/{statement_id}",
        Need.MANAGER,
        _path("/v1/statement-notices/{statement_id}"),
        merchant_only,
    ),
    # A person's messages (HOLDER); a campaign's, of a merchant's file (MANAGER).
    Row(
        "GET",
        "/v1/messages",
        Need.HOLDER,
        _query("/v1/messages", lambda t: {"account_id": str(t.account_id)}),
        account_only,
    ),
    Row(
        "GET",
        "/v1/messages/{message_id}",
        Need.HOLDER,
        _path("/v1/messages/{message_id}"),
        account_only,
    ),
    Row(
        "GET",
        "/v1/campaigns/{campaign_id}/progress",
        Need.MANAGER,
        _path("/v1/campaigns/{campaign_id}/progress"),
        merchant_only,
    ),
    # GDPR access's gathering by address: crm's, with the operator's token.
    Row(
        "GET",
        "/v1/people/messages",
        Need.OPERATOR,
        _query("/v1/people/messages", lambda _t: {"address": "matrix@example.com"}),
        no_association,
    ),
    # A merchant's webhooks (MANAGER).
    Row(
        "POST",
        "/v1/webhook-subscriptions",
        Need.MANAGER,
        lambda t: Request(
            "/v1/webhook-subscriptions",
            _scope(t) | {"url": "http://127.0.0.1:9/matrix", "event_types": ["sale.booked"]},
        ),
        merchant_only,
    ),
    Row(
        "PUT",
        SUB,
        Need.MANAGER,
        lambda t: Request(
            f"/v1/webhook-subscriptions/{uuid.uuid4()}",
            _scope(t) | {"url": "http://127.0.0.1:9/matrix", "event_types": ["sale.booked"]},
        ),
        merchant_only,
    ),
    Row(
        "GET",
        "/v1/webhook-subscriptions",
        Need.MANAGER,
        _query("/v1/webhook-subscriptions", _scope),
        merchant_only,
    ),
    Row("GET", SUB, Need.MANAGER, _path(SUB), merchant_only),
    Row(
        "POST",
        SUB + "/rotate-secret",
        Need.MANAGER,
        _path(SUB + "/rotate-secret"),
        merchant_only,
    ),
    Row("GET", SUB + "/deliveries", Need.MANAGER, _path(SUB + "/deliveries"), merchant_only),
    Row("GET", DELIVERY, Need.MANAGER, _path(DELIVERY), merchant_only),
    Row("POST", DELIVERY + "/replay", Need.MANAGER, _path(DELIVERY + "/replay"), merchant_only),
    # Last: what deletes.
    Row("DELETE", SUB, Need.MANAGER, _path(SUB), merchant_only),
]
