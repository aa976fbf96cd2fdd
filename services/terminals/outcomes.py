"""The cards service's verdicts, turned into the answers the terminals get."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from shared.contracts import (
    AccountOpened,
    CagnotteCredited,
    CagnotteRedeemed,
    EnrolmentRefused,
    RedemptionRefused,
    SaleRefused,
)
from shared.events import Event

PROBLEMS = "https://comptoir.dev/problems/"
TITLES = {
    "insufficient_balance": "Insufficient balance",
    "unknown_account": "Unknown account",
    "unknown_merchant": "Unknown merchant",
    "merchant_not_in_association": "Merchant not in the association",
    "already_enrolled": "Already enrolled",
}

Decision = tuple[UUID, str, str, int, dict[str, Any]]  # request id, kind, status, http status, body


def _refusal(reason: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": PROBLEMS + reason.replace("_", "-"),
        "title": TITLES[reason],
        "detail": detail,
        "extra": {"reason": reason, **extra},
    }


def decide(event: Event[Any]) -> Decision | None:
    """The answer an event gives to a terminal's request; None for an account a sale opened."""
    d = event.data
    if isinstance(d, CagnotteCredited):
        return (
            d.sale_id,
            "sale",
            "accepted",
            201,
            {
                "sale_id": str(d.sale_id),
                "status": "accepted",
                "account_id": str(d.account_id),
                "amount_cents": d.amount_cents,
                "reward_cents": d.reward_cents,
                "balance_cents": d.balance_cents,
                "account_opened": d.account_opened,
            },
        )
    if isinstance(d, SaleRefused):
        return (d.sale_id, "sale", "refused", 422, _refusal(d.reason, d.detail))
    if isinstance(d, CagnotteRedeemed):
        return (
            d.redemption_id,
            "redemption",
            "accepted",
            201,
            {
                "redemption_id": str(d.redemption_id),
                "status": "accepted",
                "account_id": str(d.account_id),
                "amount_cents": d.amount_cents,
                "balance_cents": d.balance_cents,
            },
        )
    if isinstance(d, RedemptionRefused):
        extra = {} if d.available_cents is None else {"available_cents": d.available_cents}
        return (
            d.redemption_id,
            "redemption",
            "refused",
            422,
            _refusal(d.reason, d.detail, **extra),
        )
    if isinstance(d, AccountOpened):
        if d.request_kind != "enrolment":
            return None
        return (
            d.request_id,
            "enrolment",
            "accepted",
            201,
            {
                "enrolment_id": str(d.request_id),
                "status": "accepted",
                "account_id": str(d.account_id),
                "phone": d.phone,
            },
        )
    if isinstance(d, EnrolmentRefused):
        account = {} if d.account_id is None else {"account_id": str(d.account_id)}
        status = 409 if d.reason == "already_enrolled" else 422
        return (
            d.enrolment_id,
            "enrolment",
            "refused",
            status,
            _refusal(d.reason, d.detail, **account),
        )
    raise TypeError(f"not an outcome: {event.type}")


async def record(conn: asyncpg.Connection, events: list[Event[Any]]) -> list[Decision]:
    """Store the answers on their requests (first verdict wins); return those that applied."""
    decisions = [d for d in map(decide, events) if d is not None]
    if not decisions:
        return []
    rows = await conn.fetch(
        """UPDATE requests r SET status = v.status, http_status = v.http_status, outcome = v.outcome,
                                 decided_at = clock_timestamp()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::jsonb[])
                v(id, kind, status, http_status, outcome)
           WHERE r.id = v.id AND r.kind = v.kind AND r.status = 'pending'
           RETURNING r.id""",
        [d[0] for d in decisions],
        [d[1] for d in decisions],
        [d[2] for d in decisions],
        [d[3] for d in decisions],
        [d[4] for d in decisions],
    )
    applied = {r["id"] for r in rows}
    return [d for d in decisions if d[0] in applied]


def handler() -> Any:
    async def on_outcomes(
        conn: asyncpg.Connection, events: list[Event[Any]]
    ) -> Sequence[Event[Any]]:
        await record(conn, events)
        return []

    return on_outcomes
