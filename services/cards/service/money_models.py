"""The commands and answers of the money use cases, as the back-office API carries them: gift
vouchers and loads of stored value (F11), audited adjustments (F16), customer file imports (F5)
and donations to partners (F19)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, model_validator

from services.cards.domain.cards import MAX_BATCH
from shared.contracts import MAX_SALE_CENTS
from shared.fields import CardNumber, UtcInstant
from shared.http import In

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=1000)]


class VoucherBatchIn(In):
    batch_id: UUID = Field(description="chosen by the client: the same id again is a retry")
    reason: Literal["birthday", "sponsorship", "big_purchase", "lottery", "other"]
    value_cents: int = Field(gt=0, le=MAX_SALE_CENTS)
    expires_at: AwareDatetime
    size: int = Field(ge=1, le=MAX_BATCH, description="how many vouchers to issue")


class VoucherBatchOut(BaseModel):
    batch_id: UUID
    association_id: UUID
    reason: str
    value_cents: int
    expires_at: datetime
    size: int
    created_at: datetime
    issued: int
    validated: int
    expired: int = Field(description="not validated and past their expiry")
    outstanding: int = Field(description="still valid and not validated")
    value_validated_cents: int
    value_outstanding_cents: int


class VoucherValidationIn(In):
    merchant_id: UUID = Field(description="the merchant where the voucher is handed in")
    card_number: CardNumber | None = None
    account_id: UUID | None = None

    @model_validator(mode="after")
    def _one_holder(self) -> VoucherValidationIn:
        if (self.card_number is None) == (self.account_id is None):
            raise ValueError("give the customer's card_number or account_id, exactly one")
        return self


class VoucherValidationOut(BaseModel):
    code: str = Field(description="formatted, as printed")
    batch_id: UUID
    association_id: UUID
    value_cents: int
    account_id: UUID
    card_number: str | None
    merchant_id: UUID
    validated_at: datetime
    movement_id: UUID = Field(description="the cagnotte reference of the credit")
    balance_cents: int = Field(description="the available cagnotte after the credit")


class LoadIn(In):
    load_id: UUID = Field(description="chosen by the client: the same id again is a retry")
    merchant_id: UUID = Field(description="the merchant who took the customer's money")
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS)


class LoadOut(BaseModel):
    load_id: UUID
    card_number: str
    account_id: UUID
    merchant_id: UUID
    amount_cents: int
    stored_value_cents: int = Field(description="the card's stored value after the load")
    occurred_at: datetime


class AdjustmentIn(In):
    adjustment_id: UUID = Field(description="chosen by the client: the same id again is a retry")
    amount_cents: int = Field(
        ge=-MAX_SALE_CENTS, le=MAX_SALE_CENTS, description="signed, not zero: > 0 credits"
    )
    bucket: Literal["available", "pending", "stored_value"]
    reason: Reason = Field(description="why (at least 5 characters)")

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentIn:
        if self.amount_cents == 0:
            raise ValueError("an adjustment of 0 cents changes nothing")
        return self


class AdjustmentOut(BaseModel):
    adjustment_id: UUID
    account_id: UUID
    bucket: str
    amount_cents: int
    balance_after_cents: int
    negative: bool = Field(description="the bucket is below zero after the adjustment")
    actor: str
    reason: str
    occurred_at: datetime


class AdjustmentList(BaseModel):
    account_id: UUID
    adjustments: list[AdjustmentOut]


class ImportQuery(In):
    import_id: UUID | None = Field(
        default=None, description="names the import in its events and entries (default: new)"
    )


class ImportCounts(BaseModel):
    lines: int = Field(description="customer lines read (blank lines skipped)")
    accepted: int
    created: int = Field(description="accounts opened")
    updated: int = Field(description="existing accounts completed, given a card or a balance")
    unchanged: int
    rejected: int
    opening_balances: int = Field(description="balances booked by this run")
    opening_balance_cents: int
    cards_linked: int


class RejectedLine(BaseModel):
    line: int = Field(description="the header is line 1")
    raw: str
    reasons: list[str]


class ImportReport(BaseModel):
    import_id: UUID
    association_id: UUID
    counts: ImportCounts
    rejected_lines: list[RejectedLine]
    ignored_columns: list[str]
    elapsed_ms: int


class DonationIn(In):
    donation_id: UUID = Field(description="chosen by the client: the same id again is a retry")
    partner_id: UUID = Field(description="an active partner of the account's association")
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS, description="taken from the available")
    occurred_at: UtcInstant | None = Field(
        default=None,
        description="when the member gave it (a form signed in the shop, keyed in later); "
        "now if absent; within reason: not ahead of the clock (5 minutes' tolerance), not "
        "older than the window (45 days), not before the association's books start",
    )


class DonationOut(BaseModel):
    donation_id: UUID
    account_id: UUID
    partner_id: UUID
    amount_cents: int = Field(description="given, > 0")
    balance_cents: int = Field(description="the available cagnotte after the donation")
    occurred_at: datetime
