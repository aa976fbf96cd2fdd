"""The answers a terminal gets to its requests: one model each, used both to build the answer
(domain/outcomes.py dumps it) and to document it (the routes' ``returns``), so the document
cannot drift from what is sent."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, RootModel

from shared.contracts import Purse


class Pending(BaseModel):
    id: UUID
    status: Literal["pending"]


class RuleRefusalOut(BaseModel):
    code: str
    detail: str


class SaleAccepted(BaseModel):
    sale_id: UUID
    status: Literal["accepted"]
    account_id: UUID
    amount_cents: int
    reward_cents: int = Field(description="euros credited, pending or available")
    balance_cents: int = Field(description="available after the sale")
    pending_cents: int = Field(description="waiting for the visit threshold")
    visits: int = Field(description="visits counted towards the threshold")
    program_kind: Literal["cagnotte", "points", "stamps"]
    units_earned: int
    units_balance: int
    refusals: list[RuleRefusalOut] = Field(
        description="rules that refused the reward in whole or in part (law, scope, program)"
    )
    card_number: str | None
    account_opened: bool


class RedemptionAccepted(BaseModel):
    redemption_id: UUID
    status: Literal["accepted"]
    account_id: UUID
    amount_cents: int
    balance_cents: int
    purse: Purse
    card_number: str | None


class ReturnAccepted(BaseModel):
    return_id: UUID
    status: Literal["accepted"]
    sale_id: UUID
    account_id: UUID
    amount_cents: int
    reward_reversed_cents: int
    balance_cents: int
    pending_cents: int


def _absent(value: object) -> bool:
    return value is None


class EnrolmentAccepted(BaseModel):
    enrolment_id: UUID
    status: Literal["accepted"]
    account_id: UUID
    phone: str | None = Field(
        description="the mobile the till finds the customer by (E.164); null when the "
        "enrolment gave an e-mail address only"
    )
    # Left out when the enrolment gave none: a phone-only enrolment is answered as it always
    # was, so a terminal built before the e-mail gets exactly the answer it knows.
    email: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="the e-mail address the till finds the customer by (lower-cased); "
        "present only when the enrolment gave one",
    )


class SaleAnswer(RootModel[SaleAccepted | Pending]):
    """201: the cards service's verdict; 202: none yet, poll GET /v1/sales/{id}."""


class RedemptionAnswer(RootModel[RedemptionAccepted | Pending]):
    """201: the cards service's verdict; 202: none yet, poll GET /v1/redemptions/{id}."""


class ReturnAnswer(RootModel[ReturnAccepted | Pending]):
    """201: the cards service's verdict; 202: none yet, poll GET /v1/returns/{id}."""


class EnrolmentAnswer(RootModel[EnrolmentAccepted | Pending]):
    """201: the cards service's verdict; 202: none yet, poll GET /v1/enrolments/{id}."""


class AnonymousSaleRecorded(BaseModel):
    """A sale without a member, recorded for the statistics (it earns nothing): answered at
    once, and the same to a retry."""

    sale_id: UUID
    status: Literal["recorded"]
    amount_cents: int
    product_family: str | None
