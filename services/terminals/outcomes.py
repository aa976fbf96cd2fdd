"""The cards service's verdicts, turned into the answers the terminals get."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from shared.contracts import (
    AccountOpened,
    BlacklistChanged,
    CagnotteCredited,
    CagnotteRedeemed,
    EnrolmentRefused,
    EventDeadLettered,
    RedemptionRefused,
    ReturnRefused,
    RewardReversed,
    SaleRefused,
)
from shared.events import Event, EventData

PROBLEMS = "https://comptoir.dev/problems/"
TITLES = {
    "insufficient_balance": "Insufficient balance",
    "unknown_account": "Unknown account",
    "unknown_merchant": "Unknown merchant",
    "merchant_not_in_association": "Merchant not in the association",
    "already_enrolled": "Already enrolled",
    "unknown_card": "Unknown card",
    "card_lost": "Card lost",
    "card_stolen": "Card stolen",
    "card_replaced": "Card replaced",
    "card_cancelled": "Card cancelled",
    "card_cloned": "Card cloned",
    "card_expired": "Card expired",
    "card_dormant": "Card dormant",
    "card_not_accepted": "Card not accepted here",
    "card_does_not_earn": "Card does not earn rewards",
    "no_stored_value": "No stored value",
    "unknown_sale": "Unknown sale",
    "return_exceeds_sale": "Return exceeds the sale",
    "would_go_negative": "Reward already spent",
    "not_processed": "Not processed",
    "occurred_in_future": "Dated in the future",
    "occurred_too_long_ago": "Dated too long ago",
    "occurred_before_books_start": "Dated before the books start",
}

Decision = tuple[UUID, str, str, int, dict[str, Any]]  # request id, kind, status, http status, body

# The service whose verdict answers a terminal's request, and the subjects the gateway
# gives a request's event (api.py: "<kind>/<request id>").
DECIDER = "cards"
_REQUEST_SUBJECT = re.compile(
    r"(sale|redemption|return|enrolment)/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
_HANDLER_FAILED = re.compile(r"handler failed: ([A-Za-z_][A-Za-z0-9_.]*)")


def _refusal(reason: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": PROBLEMS + reason.replace("_", "-"),
        "title": TITLES[reason],
        "detail": detail,
        "extra": {"reason": reason, **extra},
    }


# The events that answer a terminal's request: what ``decide`` reads.
OUTCOMES: tuple[type[EventData], ...] = (
    CagnotteCredited,
    SaleRefused,
    CagnotteRedeemed,
    RedemptionRefused,
    AccountOpened,
    EnrolmentRefused,
    RewardReversed,
    ReturnRefused,
    EventDeadLettered,
)


def cause(reason: str) -> str:
    """What the terminal is told of why: the exception's class or the envelope's fault,
    never its text (it may quote the database)."""
    m = _HANDLER_FAILED.match(reason)
    if m is not None:
        return f"handler failed: {m.group(1)}"
    return reason.split(":")[0][:100]


def failed(d: EventDeadLettered) -> Decision | None:
    """A request's own event set aside by the service that decides it: the request failed.
    Another service setting aside an event of the same subject decides nothing (cards may
    have answered the request already)."""
    if d.service != DECIDER or d.event_source != "terminals" or d.subject is None:
        return None
    m = _REQUEST_SUBJECT.fullmatch(d.subject)
    if m is None:
        return None
    kind, request_id = m.group(1), UUID(m.group(2))
    return (
        request_id,
        kind,
        "failed",
        422,
        _refusal(
            "not_processed",
            f"the {DECIDER} service could not process this {kind} and set it aside for an "
            f"operator (event {d.event_id}); nothing was booked",
            cause=cause(d.reason),
            event_id=d.event_id,
        ),
    )


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
                "pending_cents": d.pending_cents,
                "visits": d.visits,
                "program_kind": d.program_kind,
                "units_earned": d.units_earned,
                "units_balance": d.units_balance,
                "refusals": [r.model_dump() for r in d.refusals],
                "card_number": d.card_number,
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
                "purse": d.purse,
                "card_number": d.card_number,
            },
        )
    if isinstance(d, RewardReversed):
        return (
            d.return_id,
            "return",
            "accepted",
            201,
            {
                "return_id": str(d.return_id),
                "status": "accepted",
                "sale_id": str(d.sale_id),
                "account_id": str(d.account_id),
                "amount_cents": d.amount_cents,
                "reward_reversed_cents": d.reward_cents,
                "balance_cents": d.balance_cents,
                "pending_cents": d.pending_cents,
            },
        )
    if isinstance(d, ReturnRefused):
        extra = {
            k: v
            for k, v in (("reward_cents", d.reward_cents), ("available_cents", d.available_cents))
            if v is not None
        }
        return (d.return_id, "return", "refused", 422, _refusal(d.reason, d.detail, **extra))
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
    if isinstance(d, EventDeadLettered):
        return failed(d)
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


async def on_blacklist(
    conn: asyncpg.Connection, events: list[Event[BlacklistChanged]]
) -> Sequence[Event[Any]]:
    """Keep the gateway's copy of the blacklist (versions are unique: a redelivery is a no-op)."""
    data = sorted((e.data for e in events), key=lambda d: d.blacklist_version)
    await conn.execute(
        """INSERT INTO blacklist (version, card_number, association_id, action, reason, changed_at)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::text[], $5::text[],
                                $6::timestamptz[])
           ON CONFLICT (version) DO NOTHING""",
        [d.blacklist_version for d in data],
        [d.card_number for d in data],
        [d.association_id for d in data],
        [d.action for d in data],
        [d.reason for d in data],
        [d.changed_at for d in data],
    )
    return []


def handler() -> Any:
    async def on_outcomes(
        conn: asyncpg.Connection, events: list[Event[Any]]
    ) -> Sequence[Event[Any]]:
        await record(conn, events)
        return []

    return on_outcomes
