"""Clearing's back-office routes in the authorisation matrix: an association's books (periods,
closes, balances, the journal, settlements and their SEPA files, reconciliation, partners,
bank details) are its admin's; a merchant's statements and exports its manager's, and its
agreement with a partner; the whole instance's reconciliation and the GDPR gathering route
the operator's."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from services.clearing.domain import bank
from shared import clock
from shared.access import Need
from shared.client import AdminClient
from tests import harness
from tests.authz.matrix import (
    Request,
    Row,
    Target,
    World,
    account_only,
    association_only,
    merchant_only,
    no_association,
)
from tests.people import new_phone

# The books of an association start with its first entry's month: ``prepare`` books a sale
# in each target in CLOSED and closes it (the rows read its statements and settlement, and
# correct it by adjustments); the rows close TO_CLOSE, the month after.
_START = clock.now().date().replace(day=1) - timedelta(days=80)
CLOSED = _START.strftime("%Y-%m")
TO_CLOSE = (_START + timedelta(days=40)).strftime("%Y-%m")
NIL = "00000000-0000-0000-0000-000000000000"


def _iban(n: int) -> str:
    bban = f"3000400001{n:011d}12"
    return f"FR{bank.iban_check_digits('FR', bban)}{bban}"


async def _known(db: asyncpg.Connection, sql: str, *args: Any) -> Any:
    """What clearing holds once the events of the set-up reached it (a few seconds at most)."""
    for _ in range(600):
        found = await db.fetchval(sql, *args)
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"clearing never held: {sql} {args}")


async def prepare(world: World, http: aiohttp.ClientSession) -> None:
    """In each target: a sale booked (its journal reference), a partner association, the
    merchant and the account known to clearing; in each association the period CLOSED closed."""
    admin = AdminClient(http, harness.ADMIN_TOKEN)
    clearing = harness.url("clearing")
    at = datetime.combine(_START.replace(day=2), datetime.min.time(), UTC).isoformat()
    sales = await asyncio.gather(
        *(world.till(t).sale(new_phone(), 1_000, occurred_at=at) for t in world.targets)
    )
    assert all(s.status in (200, 201) for s in sales), sales
    db = await asyncpg.connect(harness.DATABASE_URL)
    try:
        for t in world.targets:
            t.ids["own_association"] = str(world.own.association_id)
            pid = str(uuid.uuid4())
            r = await admin.call(
                "PUT",
                f"{clearing}/v1/associations/{t.association_id}/partners/{pid}",
                {"name": f"club {t.label}"},
            )
            assert r.status == 201, r
            t.ids["partner"] = pid
            await _known(db, "SELECT 1 FROM clearing.merchants WHERE id = $1", t.merchant_id)
            await _known(db, "SELECT 1 FROM clearing.holders WHERE account_id = $1", t.account_id)
            reference = await _known(
                db,
                """SELECT reference_id FROM clearing.journal_entries
                   WHERE association_id = $1 AND merchant_id = $2 LIMIT 1""",
                t.association_id,
                t.merchant_id,
            )
            t.ids["reference"] = str(reference)
    finally:
        await db.close()
    for aid in {t.association_id for t in world.targets}:
        r = await admin.call("POST", f"{clearing}/v1/associations/{aid}/periods/{CLOSED}/close", {})
        assert r.status == 201, r


def _bank(kind: str, party: str, t: Target, **extra: Any) -> Request:
    body = {"holder": f"{kind} {t.label}", "iban": _iban(len(t.label)), **extra}
    return Request(f"/v1/bank-details/{kind}/{party}", body)


def _statement(suffix: str) -> Row:
    path = "/v1/merchants/{merchant_id}/statements/{period}" + suffix
    return Row(
        "GET",
        path,
        Need.MANAGER,
        lambda t: Request(f"/v1/merchants/{t.merchant_id}/statements/{CLOSED}{suffix}"),
        scope=merchant_only,
    )


def _settlement(suffix: str) -> Row:
    path = "/v1/associations/{association_id}/settlements/{period}" + suffix
    return Row(
        "GET",
        path,
        Need.ASSOCIATION,
        lambda t: Request(f"/v1/associations/{t.association_id}/settlements/{CLOSED}{suffix}"),
        scope=association_only,
    )


def _partner_statement(suffix: str) -> Row:
    path = "/v1/partners/{partner_id}/statements/{period}" + suffix
    return Row(
        "GET",
        path,
        Need.ASSOCIATION,
        lambda t: Request(f"/v1/partners/{t.ids['partner']}/statements/{CLOSED}{suffix}"),
        scope=association_only,
    )


def _association(path: str, need: Need = Need.ASSOCIATION, body: Any = None) -> Row:
    """A route under /v1/associations/{association_id}/... of the association's books."""
    return Row(
        path.split(" ")[0],
        path.split(" ")[1],
        need,
        lambda t: Request(
            path.split(" ")[1]
            .replace("{association_id}", str(t.association_id))
            .replace("{period}", CLOSED),
            body,
        ),
        scope=association_only,
    )


ROWS: list[Row] = [
    # The association's books.
    _association("GET /v1/associations/{association_id}/balances"),
    Row(
        "GET",
        "/v1/entries/{reference_id}",
        Need.ASSOCIATION,
        lambda t: Request(f"/v1/entries/{t.ids['reference']}"),
        scope=association_only,
    ),
    _association("GET /v1/associations/{association_id}/periods"),
    Row(
        "POST",
        "/v1/associations/{association_id}/periods/{period}/close",
        Need.ASSOCIATION,
        lambda t: Request(f"/v1/associations/{t.association_id}/periods/{TO_CLOSE}/close", {}),
        scope=association_only,
    ),
    Row(
        "POST",
        "/v1/merchants/{merchant_id}/adjustments",
        Need.ASSOCIATION,
        lambda t: Request(
            f"/v1/merchants/{t.merchant_id}/adjustments",
            {
                "adjustment_id": str(uuid.uuid4()),
                "period": CLOSED,
                "amount_cents": 100,
                "reason": "the matrix corrects",
            },
        ),
        scope=merchant_only,
    ),
    _association("GET /v1/associations/{association_id}/statements/{period}"),
    _settlement(""),
    _settlement("/direct-debit.xml"),
    _settlement("/credit-transfer.xml"),
    # A merchant's statement and its exports.
    _statement(""),
    _statement(".xlsx"),
    _statement(".csv"),
    # Bank details: the association's admin sets its own, its merchants', its partners'.
    Row(
        "PUT",
        "/v1/bank-details/{party_kind}/{party_id}",
        Need.ASSOCIATION,
        lambda t: _bank("merchant", str(t.merchant_id), t, mandate_id=f"M-{t.label}"),
        scope=merchant_only,
        variant="merchant",
    ),
    Row(
        "PUT",
        "/v1/bank-details/{party_kind}/{party_id}",
        Need.ASSOCIATION,
        lambda t: _bank("partner", t.ids["partner"], t),
        scope=association_only,
        variant="partner",
    ),
    Row(
        "PUT",
        "/v1/bank-details/{party_kind}/{party_id}",
        Need.ASSOCIATION,
        lambda t: _bank("association", str(t.association_id), t, creditor_id="FR72ZZZ123456"),
        scope=association_only,
        variant="association",
    ),
    Row(
        "PUT",
        "/v1/bank-details/{party_kind}/{party_id}",
        Need.OPERATOR,
        lambda t: _bank("operator", NIL, t),
        scope=no_association,
        variant="operator",
    ),
    # Bank details read back (the IBAN masked), authorised as they are set.
    Row(
        "GET",
        "/v1/bank-details/{party_kind}/{party_id}",
        Need.ASSOCIATION,
        lambda t: Request(f"/v1/bank-details/merchant/{t.merchant_id}"),
        scope=merchant_only,
        variant="merchant",
    ),
    Row(
        "GET",
        "/v1/bank-details/{party_kind}/{party_id}",
        Need.ASSOCIATION,
        lambda t: Request(f"/v1/bank-details/partner/{t.ids['partner']}"),
        scope=association_only,
        variant="partner",
    ),
    Row(
        "GET",
        "/v1/bank-details/{party_kind}/{party_id}",
        Need.ASSOCIATION,
        lambda t: Request(f"/v1/bank-details/association/{t.association_id}"),
        scope=association_only,
        variant="association",
    ),
    Row(
        "GET",
        "/v1/bank-details/{party_kind}/{party_id}",
        Need.OPERATOR,
        lambda t: Request(f"/v1/bank-details/operator/{NIL}"),
        scope=no_association,
        variant="operator",
    ),
    _association("GET /v1/associations/{association_id}/bank-details"),
    # Partner associations.
    Row(
        "PUT",
        "/v1/associations/{association_id}/partners/{partner_id}",
        Need.ASSOCIATION,
        lambda t: Request(
            f"/v1/associations/{t.association_id}/partners/{t.ids['partner']}",
            {"name": f"club {t.label}"},
        ),
        scope=association_only,
    ),
    Row(
        "PUT",
        "/v1/associations/{association_id}/partners/{partner_id}",
        Need.ASSOCIATION,
        lambda t: Request(
            f"/v1/associations/{t.ids['own_association']}/partners/{t.ids['partner']}",
            {"name": f"club {t.label}"},
        ),
        scope=association_only,
        variant="claimed by the own association",
    ),
    _association("GET /v1/associations/{association_id}/partners"),
    Row(
        "PUT",
        "/v1/partners/{partner_id}/partnerships/{merchant_id}",
        Need.MANAGER,
        lambda t: Request(
            f"/v1/partners/{t.ids['partner']}/partnerships/{t.merchant_id}",
            {"rate_bps": 100, "starts_on": "2020-01-01"},
        ),
        scope=merchant_only,
    ),
    Row(
        "PUT",
        "/v1/partners/{partner_id}/members/{account_id}",
        Need.ASSOCIATION,
        lambda t: Request(
            f"/v1/partners/{t.ids['partner']}/members/{t.account_id}", {"since": "2020-01-01"}
        ),
        scope=account_only,
    ),
    _partner_statement(""),
    _partner_statement(".xlsx"),
    _partner_statement(".csv"),
    # Reconciliation: an association's books, or the whole instance's (the operator's).
    Row(
        "POST",
        "/v1/reconciliation",
        Need.OPERATOR,
        lambda t: Request("/v1/reconciliation", {"settle_seconds": 0}),
        scope=no_association,
    ),
    Row(
        "POST",
        "/v1/reconciliation",
        Need.ASSOCIATION,
        lambda t: Request(
            "/v1/reconciliation", {"settle_seconds": 0, "association_id": str(t.association_id)}
        ),
        scope=association_only,
        variant="association",
    ),
    Row(
        "GET",
        "/v1/reconciliation",
        Need.OPERATOR,
        lambda t: Request("/v1/reconciliation"),
        scope=no_association,
    ),
    _association(
        "POST /v1/associations/{association_id}/reconciliation", body={"settle_seconds": 0}
    ),
    _association("GET /v1/associations/{association_id}/reconciliation"),
    # The GDPR gathering (crm, with the service token).
    Row(
        "GET",
        "/v1/accounts/{account_id}/personal-data",
        Need.OPERATOR,
        lambda t: Request(f"/v1/accounts/{t.account_id}/personal-data"),
        scope=no_association,
    ),
]
