"""What a terminal asks online (a sale, a redemption, a return, an enrolment) and the event
each request becomes: pure, from the validated body and the authenticated terminal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.terminals.domain.terminals import Terminal
from shared.contracts import (
    MAX_QUANTITY,
    MAX_SALE_CENTS,
    AnonymousSaleRecorded,
    EnrolmentRequested,
    Instant,
    Purse,
    RedemptionRequested,
    ReturnRecorded,
    SaleRecorded,
)
from shared.events import EventData
from shared.fields import (
    CardNumber,
    EmailAddress,
    Name,
    PhoneNumber,
    ProductFamilyCode,
    coded_error,
)
from shared.rules.codes import InvalidCode, parse_referral_code

RequestKind = Literal["sale", "redemption", "return", "enrolment", "anonymous_sale"]


class Customer(BaseModel):
    """The customer: the phone or the e-mail address of a cardless account, or a card number;
    exactly one."""

    model_config = ConfigDict(extra="forbid")
    phone: PhoneNumber | None = None
    email: EmailAddress | None = Field(
        default=None,
        description="the e-mail address of an account enrolled with it (lower-cased); a sale "
        "by e-mail opens no account",
    )
    card_number: CardNumber | None = Field(
        default=None, description="16 digits with a Luhn check digit; spaces allowed"
    )

    @model_validator(mode="after")
    def _one(self) -> Customer:
        if sum(v is not None for v in (self.phone, self.email, self.card_number)) != 1:
            raise ValueError("give the customer's phone, email or card_number, exactly one")
        return self


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    occurred_at: Instant | None = Field(
        default=None,
        description="the terminal's clock, RFC 3339 with an offset; now if absent",
    )


R = TypeVar("R", bound=_Strict)


class SaleIn(_Strict):
    sale_id: UUID
    customer: Customer
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS)
    product_family: ProductFamilyCode | None = Field(
        default=None,
        description="a product family code of the merchant's catalogue; a well-formed code it does not "
        "hold earns as a sale without family",
    )
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, description="items bought (stamps)")


class AnonymousSaleIn(_Strict):
    """A sale without a member (no card, no phone): what the statistics need to know the
    members' share of the revenue (docs/statistics.md). It earns nothing."""

    sale_id: UUID
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS)
    product_family: ProductFamilyCode | None = Field(
        default=None, description="a product family code of the merchant's catalogue"
    )


class RedemptionIn(_Strict):
    redemption_id: UUID
    customer: Customer
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS)
    purse: Purse = Field(
        default="cagnotte",
        description="cagnotte: the rewards; stored_value: money loaded on a gift card, "
        "prepaid card or e-purse",
    )


class ReturnIn(_Strict):
    return_id: UUID
    sale_id: UUID = Field(description="the sale returned or cancelled, at this merchant")
    amount_cents: int = Field(
        gt=0, le=MAX_SALE_CENTS, description="the sale's amount to cancel it, less for a return"
    )
    reason: Literal["cancelled", "returned"]


def _referral_code(raw: str) -> str:
    try:
        return parse_referral_code(raw)
    except InvalidCode as exc:
        raise coded_error("invalid_referral_code", str(exc)) from exc


ReferralCode = Annotated[str, Field(min_length=8, max_length=12), AfterValidator(_referral_code)]


class EnrolmentIn(_Strict):
    """Quick enrolment (F3): a mobile, an e-mail address or both; neither is
    ``contact_required``."""

    # The schema says it too: a phone or an e-mail, given as a string (null is not one).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"type": "string"}}}
                for name in ("phone", "email")
            ]
        },
    )
    enrolment_id: UUID
    phone: PhoneNumber | None = Field(
        default=None, description="the mobile, read as shared/rules/phone.py does (E.164)"
    )
    email: EmailAddress | None = Field(
        default=None, description="checked by its syntax and lower-cased (shared/rules/email.py)"
    )
    # Names refuse control and format characters (RLO, ESC, CR/LF...): shared/fields.py.
    first_name: Name | None = None
    last_name: Name | None = None
    referral_code: ReferralCode | None = Field(
        default=None,
        description="a sponsor's referral code (F22) as typed: case, dashes, O/0 and I/L/1 "
        "free; a mistyped one is `invalid_referral_code`, one no customer of the association "
        "holds is `unknown_referral_code` (asked of crm before the account is opened); crm "
        "links the sponsor once the account is open",
    )

    @model_validator(mode="after")
    def _a_contact(self) -> EnrolmentIn:
        if self.phone is None and self.email is None:
            raise coded_error(
                "contact_required", "give the customer's phone or e-mail address (or both)"
            )
        return self


def where(t: Terminal, occurred_at: datetime) -> dict[str, Any]:
    """Where and when a request happened: the fields every request's event carries."""
    return {
        "association_id": t.association_id,
        "merchant_id": t.merchant_id,
        "shop_id": t.shop_id,
        "terminal_id": t.id,
        "occurred_at": occurred_at,
    }


def sale(s: SaleIn, at: dict[str, Any]) -> tuple[UUID, EventData]:
    return s.sale_id, SaleRecorded(
        **at,
        sale_id=s.sale_id,
        phone=s.customer.phone,
        email=s.customer.email,
        card_number=s.customer.card_number,
        amount_cents=s.amount_cents,
        product_family=s.product_family,
        quantity=s.quantity,
    )


def anonymous_sale(s: AnonymousSaleIn, at: dict[str, Any]) -> tuple[UUID, EventData]:
    return s.sale_id, AnonymousSaleRecorded(
        **at, sale_id=s.sale_id, amount_cents=s.amount_cents, product_family=s.product_family
    )


def redemption(r: RedemptionIn, at: dict[str, Any]) -> tuple[UUID, EventData]:
    return r.redemption_id, RedemptionRequested(
        **at,
        redemption_id=r.redemption_id,
        phone=r.customer.phone,
        email=r.customer.email,
        card_number=r.customer.card_number,
        amount_cents=r.amount_cents,
        purse=r.purse,
    )


def return_(r: ReturnIn, at: dict[str, Any]) -> tuple[UUID, EventData]:
    return r.return_id, ReturnRecorded(
        **at,
        return_id=r.return_id,
        sale_id=r.sale_id,
        amount_cents=r.amount_cents,
        reason=r.reason,
    )


def enrolment(e: EnrolmentIn, at: dict[str, Any]) -> tuple[UUID, EventData]:
    return e.enrolment_id, EnrolmentRequested(
        **at,
        enrolment_id=e.enrolment_id,
        phone=e.phone,
        email=e.email,
        first_name=e.first_name,
        last_name=e.last_name,
        referral_code=e.referral_code,
    )


ToEvent = Callable[[R, dict[str, Any]], tuple[UUID, EventData]]
