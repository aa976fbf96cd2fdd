"""The cards service's verdicts, turned into the answers the terminals get: pure."""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from uuid import UUID

from services.terminals.domain.answers import (
    EnrolmentAccepted,
    RedemptionAccepted,
    ReturnAccepted,
    RuleRefusalOut,
    SaleAccepted,
)
from shared.contracts import (
    AccountOpened,
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


class Decision(NamedTuple):
    """A verdict on a terminal's request: its HTTP status and body (an answer model dumped,
    or a problem's parts)."""

    request_id: UUID
    kind: str
    status: str
    http_status: int
    body: dict[str, Any]


# The service whose verdict answers a terminal's request, and the subjects the gateway
# gives a request's event (entrypoints/http/requests.py: "<kind>/<request id>").
DECIDER = "cards"
_REQUEST_SUBJECT = re.compile(
    r"(sale|redemption|return|enrolment)/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
_HANDLER_FAILED = re.compile(r"handler failed: ([A-Za-z_][A-Za-z0-9_.]*)")


def refusal(reason: str, detail: str, **extra: Any) -> dict[str, Any]:
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
    return Decision(
        request_id,
        kind,
        "failed",
        422,
        refusal(
            "not_processed",
            f"the {DECIDER} service could not process this {kind} and set it aside for an "
            f"operator (event {d.event_id}); nothing was booked",
            cause=cause(d.reason),
            event_id=d.event_id,
        ),
    )


def _sale(d: CagnotteCredited) -> Decision:
    answer = SaleAccepted(
        sale_id=d.sale_id,
        status="accepted",
        account_id=d.account_id,
        amount_cents=d.amount_cents,
        reward_cents=d.reward_cents,
        balance_cents=d.balance_cents,
        pending_cents=d.pending_cents,
        visits=d.visits,
        program_kind=d.program_kind,
        units_earned=d.units_earned,
        units_balance=d.units_balance,
        refusals=[RuleRefusalOut(code=r.code, detail=r.detail) for r in d.refusals],
        card_number=d.card_number,
        account_opened=d.account_opened,
    )
    return Decision(d.sale_id, "sale", "accepted", 201, answer.model_dump(mode="json"))


def _redemption(d: CagnotteRedeemed) -> Decision:
    answer = RedemptionAccepted(
        redemption_id=d.redemption_id,
        status="accepted",
        account_id=d.account_id,
        amount_cents=d.amount_cents,
        balance_cents=d.balance_cents,
        purse=d.purse,
        card_number=d.card_number,
    )
    return Decision(d.redemption_id, "redemption", "accepted", 201, answer.model_dump(mode="json"))


def _return(d: RewardReversed) -> Decision:
    answer = ReturnAccepted(
        return_id=d.return_id,
        status="accepted",
        sale_id=d.sale_id,
        account_id=d.account_id,
        amount_cents=d.amount_cents,
        reward_reversed_cents=d.reward_cents,
        balance_cents=d.balance_cents,
        pending_cents=d.pending_cents,
    )
    return Decision(d.return_id, "return", "accepted", 201, answer.model_dump(mode="json"))


def _enrolment(d: AccountOpened) -> Decision | None:
    if d.request_kind != "enrolment":
        return None  # an account a sale opened: the sale's verdict answers
    answer = EnrolmentAccepted(
        enrolment_id=d.request_id,
        status="accepted",
        account_id=d.account_id,
        phone=d.phone,
        email=d.email,
    )
    return Decision(d.request_id, "enrolment", "accepted", 201, answer.model_dump(mode="json"))


def _refused(d: SaleRefused | RedemptionRefused | ReturnRefused | EnrolmentRefused) -> Decision:
    if isinstance(d, SaleRefused):
        return Decision(d.sale_id, "sale", "refused", 422, refusal(d.reason, d.detail))
    if isinstance(d, ReturnRefused):
        extra = {
            k: v
            for k, v in (("reward_cents", d.reward_cents), ("available_cents", d.available_cents))
            if v is not None
        }
        body = refusal(d.reason, d.detail, **extra)
        return Decision(d.return_id, "return", "refused", 422, body)
    if isinstance(d, RedemptionRefused):
        extra = {} if d.available_cents is None else {"available_cents": d.available_cents}
        body = refusal(d.reason, d.detail, **extra)
        return Decision(d.redemption_id, "redemption", "refused", 422, body)
    account = {} if d.account_id is None else {"account_id": str(d.account_id)}
    status = 409 if d.reason == "already_enrolled" else 422
    body = refusal(d.reason, d.detail, **account)
    return Decision(d.enrolment_id, "enrolment", "refused", status, body)


def decide(event: Event[Any]) -> Decision | None:
    """The answer an event gives to a terminal's request; None for an account a sale opened."""
    d = event.data
    if isinstance(d, CagnotteCredited):
        return _sale(d)
    if isinstance(d, CagnotteRedeemed):
        return _redemption(d)
    if isinstance(d, RewardReversed):
        return _return(d)
    if isinstance(d, AccountOpened):
        return _enrolment(d)
    if isinstance(d, SaleRefused | RedemptionRefused | ReturnRefused | EnrolmentRefused):
        return _refused(d)
    if isinstance(d, EventDeadLettered):
        return failed(d)
    raise TypeError(f"not an outcome: {event.type}")
