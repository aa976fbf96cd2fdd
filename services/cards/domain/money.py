"""The rules of the back office's money operations: gift vouchers and loads of stored value
(F11), audited adjustments (F16) and donations to partners (F19). Pure: the use cases read the
rows and hand them here.

Every money operation is idempotent by an id the client chose: the same request again answers
what the first one did and counts nothing twice; the same id with other terms is refused
(``id_reused``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal
from uuid import UUID

from services.cards.domain import BLOCKED
from services.cards.domain.base import Refused, Row
from services.cards.domain.catalogue import MONEY_KINDS
from shared.clock import PARIS
from shared.rules.codes import format_voucher_code
from shared.rules.dates import DateWindow

# A voucher's cagnotte reference is derived from its code: one entry per voucher, ever.
VOUCHER_NAMESPACE = uuid.UUID("0f4b8a52-93e1-4d6c-8b2a-7e5c1d9f3a64")


def voucher_reference(code: str) -> UUID:
    return uuid.uuid5(VOUCHER_NAMESPACE, f"voucher:{code}")


def refuse_id_reused(what: str, reference: UUID) -> Refused:
    return Refused(
        409,
        "Id already used",
        f"{what} {reference} was already made with other terms; choose a new id for a new one",
        reason="id_reused",
    )


def check_not_blocked(card: Row) -> None:
    """A lost, stolen, replaced, cancelled or cloned card moves no money."""
    if card["status"] in BLOCKED:
        raise Refused(
            409,
            "Card blocked",
            f"card {card['number']} is {card['status']} (blacklisted)",
            reason=BLOCKED[card["status"]],
        )


def check_merchant(merchant: Row | None, merchant_id: UUID, association_id: UUID) -> str:
    """The merchant where money changes hands is one of the association's; its name."""
    if merchant is None:
        raise Refused(
            422, "Unknown merchant", f"no merchant {merchant_id}", reason="unknown_merchant"
        )
    if merchant["association_id"] != association_id:
        raise Refused(
            422,
            "Merchant of another association",
            f"merchant {merchant['name']} does not belong to association {association_id}",
            reason="merchant_not_in_association",
        )
    name: str = merchant["name"]
    return name


# --- gift vouchers -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """How a batch's vouchers stand: issued = validated + expired + outstanding."""

    issued: int
    validated: int
    expired: int
    value_cents: int

    @property
    def outstanding(self) -> int:
        return self.issued - self.validated - self.expired

    @property
    def value_validated_cents(self) -> int:
        return self.validated * self.value_cents

    @property
    def value_outstanding_cents(self) -> int:
        return self.outstanding * self.value_cents


def check_same_batch(
    batch: Row,
    batch_id: UUID,
    association_id: UUID,
    terms: tuple[str, int, datetime, int],
) -> None:
    """A batch id given again with the same terms (reason, value, expiry, size) is a retry."""
    columns = ("association_id", "reason", "value_cents", "expires_at", "size")
    if not same_terms(batch, columns, (association_id, *terms)):
        raise Refused(
            409,
            "Batch id already used",
            f"voucher batch {batch_id} exists with other terms; choose a new batch_id",
            reason="id_reused",
        )


def check_expiry_ahead(expires_at: datetime, now: datetime) -> None:
    if expires_at <= now:
        raise Refused(
            422, "Expiry in the past", f"expires_at {expires_at.isoformat()} is already past"
        )


def check_holder(account_id: UUID, belongs_to: UUID | None, association_id: UUID) -> None:
    """A voucher is credited to an account of its own association."""
    if belongs_to is None:
        raise Refused(422, "Unknown account", f"no account {account_id}", reason="unknown_account")
    if belongs_to != association_id:
        raise Refused(
            422,
            "Account of another association",
            f"the voucher is of association {association_id}, the account of another",
            reason="account_not_in_association",
        )


def is_retry(voucher: Row, account_id: UUID, merchant_id: UUID) -> bool:
    """The very same validation again (same account, same merchant) answers the first one."""
    return bool(
        voucher["validated_at"] is not None
        and voucher["account_id"] == account_id
        and voucher["validated_by_merchant"] == merchant_id
    )


def refuse_validated(voucher: Row, where: str | None) -> Refused:
    """Validated once, for good: when and where (``where``: the merchant's name, if known)."""
    shown = format_voucher_code(voucher["code"])
    return Refused(
        409,
        "Voucher already validated",
        f"voucher {shown} was validated on {voucher['validated_at'].isoformat()} at "
        f"{where or voucher['validated_by_merchant']}",
        reason="voucher_already_validated",
        validated_at=voucher["validated_at"].isoformat(),
        merchant_id=str(voucher["validated_by_merchant"]),
        merchant_name=where,
    )


def refuse_expired(voucher: Row) -> Refused:
    shown = format_voucher_code(voucher["code"])
    return Refused(
        422,
        "Voucher expired",
        f"voucher {shown} expired on {voucher['expires_at'].isoformat()}",
        reason="voucher_expired",
        expires_at=voucher["expires_at"].isoformat(),
    )


# --- stored value ------------------------------------------------------------------------------


def check_loadable(card: Row, number: str, now: datetime) -> None:
    """Only a gift, prepaid or e-purse card holds stored value, and not a blocked or expired
    one."""
    if card["type_kind"] not in MONEY_KINDS:
        raise Refused(
            409,
            "Card holds no stored value",
            f"card {number} is of a {card['type_kind']} card type; only gift, prepaid "
            "and e-purse cards can be loaded",
            reason="no_stored_value",
        )
    check_not_blocked(card)
    if card["expires_on"] is not None and now.date() > card["expires_on"]:
        raise Refused(
            409,
            "Card expired",
            f"card {number} expired on {card['expires_on'].isoformat()}",
            reason="card_expired",
        )


def same_terms(done: Row, columns: tuple[str, ...], terms: tuple[Any, ...]) -> bool:
    """The entry a first request booked has the terms of this one."""
    return tuple(done[c] for c in columns) == terms


def purse_of(bucket: str) -> Literal["cagnotte", "stored_value"]:
    """An adjustment of the stored value moves the card's money; of the others, the cagnotte."""
    return "stored_value" if bucket == "stored_value" else "cagnotte"


# --- donations ---------------------------------------------------------------------------------


def check_partner(partner: Row | None, partner_id: UUID, association_id: UUID) -> None:
    """The partner takes donations from the members of ``association_id`` now."""
    if partner is None:
        raise Refused(422, "Unknown partner", f"no partner {partner_id}", "unknown_partner")
    if partner["association_id"] != association_id:
        raise Refused(
            422,
            "Partner of another association",
            f"{partner['partner_name']} is a partner of association {partner['association_id']}, "
            f"not of the account's ({association_id})",
            "partner_not_in_association",
        )
    if not partner["active"]:
        raise Refused(
            422,
            "Partner inactive",
            f"{partner['partner_name']} takes no donations now",
            "partner_inactive",
        )


def insufficient(available_cents: int, asked_cents: int) -> Refused:
    return Refused(
        422,
        "Insufficient balance",
        f"the available cagnotte is {available_cents} cents, {asked_cents} asked",
        "insufficient_balance",
        available_cents=available_cents,
    )


def check_donation_date(
    occurred_at: datetime, now: datetime, start: date | None, window: DateWindow
) -> None:
    """Dates within reason (shared/rules/dates.py), as for a sale: a donation backdated into a
    closed month or before the books start would move money nobody can see."""
    books_start = datetime.combine(start, time(), PARIS) if start else None
    refusal = window.refusal(occurred_at, now, books_start)
    if refusal is not None:
        raise Refused(
            422,
            "Date out of reason",
            f"occurred_at {occurred_at.isoformat()} is outside the accepted window "
            f"at {now.isoformat()}" + (f" (books start {start.isoformat()})" if start else ""),
            reason=refusal,
        )
