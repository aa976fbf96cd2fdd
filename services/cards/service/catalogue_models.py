"""The commands and answers of the catalogue's use cases, as the back-office API carries them:
associations, merchants, product families, programs, promotions, card types (their rates per
merchant and their acceptances) and the dry run of a sale."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    RootModel,
    StringConstraints,
    field_validator,
)

from shared.contracts import MAX_SALE_CENTS
from shared.fields import PRODUCT_FAMILY_CODE, Text
from shared.http import In

# --- input types -----------------------------------------------------------------------------


def _plausible(at: datetime) -> datetime:
    # Far years overflow PostgreSQL's or Python's range once shifted to UTC: refuse them here.
    if not 1970 <= at.year <= 9000:
        raise ValueError("a date is between the years 1970 and 9000")
    return at


def _plausible_day(day: date) -> date:
    if not 1970 <= day.year <= 9000:
        raise ValueError("a date is between the years 1970 and 9000")
    return day


Code = Annotated[str, StringConstraints(pattern=f"^{PRODUCT_FAMILY_CODE}$")]
Codes = Annotated[list[Code], Field(min_length=1, max_length=200)]
AwareInstant = Annotated[AwareDatetime, AfterValidator(_plausible)]
Day = Annotated[date, AfterValidator(_plausible_day)]
Bps = Annotated[int, Field(ge=0, le=10_000)]


class AssociationIn(In):
    name: Text
    rate_mode: Literal["network", "merchant", "family"]
    taux_client_bps: Bps
    taux_uc_bps: Bps
    issuer_prefix: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        default=None,
        description="the first 6 digits of the association's card numbers, unique; "
        "omitted: kept as it is",
    )
    dormant_after_days: int = Field(
        default=183, ge=1, le=36_500, description="a card unused this long is treated as lost"
    )
    books_start: Day | None = Field(
        default=None,
        description="the first day of the month the books start in: nothing dated before is "
        "booked; omitted: kept as it is, or at creation the month of the creation (Paris)",
    )

    @field_validator("books_start")
    @classmethod
    def _first_of_month(cls, v: date | None) -> date | None:
        if v is not None and v.day != 1:
            raise ValueError("the books start on the first day of a month")
        return v


class MerchantIn(In):
    name: Text
    taux_client_bps: Bps | None = Field(default=None, description="None: the network rate")
    taux_uc_bps: Bps | None = Field(default=None, description="None: the network fee")
    closed_on: Day | None = Field(
        default=None,
        description="the day the merchant left the network (it stays in the books); "
        "null: open; omitted: kept as it is",
    )
    email: str | None = Field(
        default=None,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="where its monthly statements are e-mailed; null: none; omitted: kept",
    )


class FamilyIn(In):
    label: Text
    taux_client_bps: Bps | None = Field(
        default=None, description="the family's own rate (mode family); None: the merchant's"
    )
    tobacco: bool = False
    gambling: bool = False
    book: bool = False


class ProgramIn(In):
    name: Text
    kind: Literal["cagnotte", "points", "stamps"]
    families: Codes | None = Field(default=None, description="None: the whole catalogue")
    valid_from: AwareInstant | None = Field(default=None, description="included")
    valid_until: AwareInstant | None = Field(default=None, description="excluded")
    points_per_euro: int = Field(default=0, ge=0, le=10_000)
    units_per_reward: int = Field(default=0, ge=0, le=1_000_000)
    reward_cents: int = Field(default=0, ge=0, le=MAX_SALE_CENTS)
    visit_threshold: int = Field(
        default=1, ge=1, le=1_000, description="rewards become available at this visit"
    )
    visit_threshold_max_days: int | None = Field(
        default=None, ge=1, le=36_500, description="to reach visit_threshold; None: no limit"
    )


class MultiplierIn(In):
    numerator: int = Field(ge=0, le=1_000)
    denominator: int = Field(default=1, ge=1, le=1_000)


class PromotionIn(In):
    name: Text
    merchant_id: UUID | None = Field(
        default=None, description="a merchant of the association; None: network-wide"
    )
    families: Codes | None = Field(default=None, description="None: every family")
    starts_at: AwareInstant = Field(description="included")
    ends_at: AwareInstant = Field(description="excluded")
    taux_client_bps: Bps | None = Field(default=None, description="a rate override; or:")
    multiplier: MultiplierIn | None = Field(default=None, description="a multiplier")


class CardTypeIn(In):
    name: Text
    kind: Literal["association", "generic", "merchant", "gift", "prepaid", "epurse"]
    program_id: UUID | None = Field(
        default=None,
        description="required for association, generic and merchant; none for gift, prepaid "
        "and epurse (they hold money and earn nothing)",
    )
    taux_client_bps: Bps | None = Field(default=None, description="None: the association's")
    taux_uc_bps: Bps | None = Field(default=None, description="None: the association's")
    merchant_id: UUID | None = Field(default=None, description="for kind merchant only")
    validity_months: int | None = Field(default=None, ge=1, le=1_200)


class RateIn(In):
    taux_client_bps: Bps | None = Field(default=None, description="None: the merchant's own")
    taux_uc_bps: Bps | None = Field(default=None, description="None: the merchant's own")


class AcceptanceQuery(BaseModel):
    merchant_id: UUID | None = Field(
        default=None, description="one merchant of the association; absent: all its merchants"
    )


class PromotionQuery(BaseModel):
    live_at: AwareInstant | None = Field(
        default=None, description="only the promotions live then (and not withdrawn)"
    )


class DryRunIn(In):
    merchant_id: UUID
    product_family: Code | None = None
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS)
    quantity: int = Field(default=1, ge=1, le=10_000, description="items bought (stamps)")
    at: AwareInstant | None = Field(default=None, description="the sale's time; now if absent")
    card_type_id: UUID | None = Field(
        default=None, description="None: the association's default card type"
    )
    language: Literal["fr", "en"] | None = Field(
        default=None,
        description="the explanation's language, its amounts as Babel writes them "
        "(0,75 € in fr, €0.75 in en); none: English with amounts as 0.75 €",
    )


# --- output types ----------------------------------------------------------------------------


class AssociationOut(BaseModel):
    id: UUID
    name: str
    rate_mode: str
    taux_client_bps: int
    taux_uc_bps: int
    issuer_prefix: str | None
    dormant_after_days: int
    books_start: date
    default_card_type_id: UUID | None
    default_program_id: UUID | None
    created_at: datetime


class MerchantOut(BaseModel):
    id: UUID
    association_id: UUID
    name: str
    taux_client_bps: int | None
    taux_uc_bps: int | None
    closed_on: date | None
    email: str | None


class DirectoryEntry(BaseModel):
    """A shop of the network as anyone of it sees it: no rates, no contact."""

    id: UUID
    name: str


class Directory(RootModel[list[DirectoryEntry]]):
    pass


class Merchants(RootModel[list[MerchantOut]]):
    pass


class FamilyOut(BaseModel):
    merchant_id: UUID
    code: str
    label: str
    taux_client_bps: int | None
    tobacco: bool
    gambling: bool
    book: bool


class Families(RootModel[list[FamilyOut]]):
    pass


class ProgramOut(BaseModel):
    id: UUID
    association_id: UUID
    name: str
    kind: str
    families: list[str] | None
    valid_from: datetime | None
    valid_until: datetime | None
    status: str
    points_per_euro: int
    units_per_reward: int
    reward_cents: int
    visit_threshold: int
    visit_threshold_max_days: int | None
    created_at: datetime


class Programs(RootModel[list[ProgramOut]]):
    pass


class MultiplierOut(BaseModel):
    numerator: int
    denominator: int


class PromotionOut(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID | None
    name: str
    families: list[str] | None
    starts_at: datetime
    ends_at: datetime
    taux_client_bps: int | None
    multiplier: MultiplierOut | None
    withdrawn_at: datetime | None
    created_at: datetime


class Promotions(RootModel[list[PromotionOut]]):
    pass


class CardTypeOut(BaseModel):
    id: UUID
    association_id: UUID
    name: str
    kind: str
    program_id: UUID | None
    taux_client_bps: int | None
    taux_uc_bps: int | None
    merchant_id: UUID | None
    validity_months: int | None
    created_at: datetime


class CardTypes(RootModel[list[CardTypeOut]]):
    pass


class RateOut(BaseModel):
    card_type_id: UUID
    merchant_id: UUID
    taux_client_bps: int | None
    taux_uc_bps: int | None


class AcceptanceOut(BaseModel):
    card_type_id: UUID
    association_id: UUID
    merchant_id: UUID | None = Field(description="None: every merchant of the association")


class CardTypeDetail(CardTypeOut):
    rates: list[RateOut]
    acceptances: list[AcceptanceOut]


class VisitThresholdOut(BaseModel):
    visits_needed: int
    max_days: int | None


class StepOut(BaseModel):
    rule: str
    applied: bool
    detail: str
    rate: int = Field(description="the earn rate after this rule (bp, points rate or stamps)")
    said: str = Field(description="what detail says, in the language asked (else English)")


class RefusalOut(BaseModel):
    code: str
    detail: str
    said: str = Field(description="what detail says, in the language asked (else English)")


class DryRunOut(BaseModel):
    association_id: UUID
    card_type_id: UUID
    program_id: UUID
    merchant_id: UUID
    product_family: str | None
    amount_cents: int
    quantity: int
    at: datetime
    kind: str
    reward_cents: int
    points: int
    stamps: int
    fee_cents: int
    taux_client_bps: int
    taux_uc_bps: int
    refused: bool = Field(description="nothing earned, for the reasons in refusals")
    visit_threshold: VisitThresholdOut
    steps: list[StepOut]
    refusals: list[RefusalOut]
    explanation: str
    rules_version: int
