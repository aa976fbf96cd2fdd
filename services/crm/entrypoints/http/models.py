"""The crm API's models: strict at the edge (no coercion: a number is a JSON number, a date
an ISO string), phones through ``shared.rules.phone``, e-mails by their syntax."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.crm.domain import people
from services.crm.domain.people import Language
from shared.fields import Name, PhoneNumber, Text, Title
from shared.http import Problem

Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(people.email)]
PostalCode = Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z -]{1,9}$")]
Birthday = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))]
Notes = Annotated[str, Field(max_length=4000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PublicDetails(Strict):
    """What a customer may complete or correct of their own file (null clears a field)."""

    title: Title | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    address: Text | None = None
    postal_code: PostalCode | None = None
    town: Annotated[Text, Field(max_length=100)] | None = None
    phone: PhoneNumber | None = Field(default=None, description="the mobile, where SMS go")
    landline: PhoneNumber | None = None
    email: Email | None = None
    birth_date: Birthday | None = None
    spouse_birthday: Birthday | None = None
    children_birthdays: list[Birthday] | None = Field(default=None, max_length=12)
    language: Language | None = None


class DetailsPatch(PublicDetails):
    """The back office's correction: also the merchant's free notes."""

    notes: Notes | None = None


def changes(body: BaseModel) -> dict[str, Any]:
    """The fields the body gives (a field left out is left as it is)."""
    return {name: getattr(body, name) for name in body.model_fields_set}


class MerchantFile(BaseModel):
    account_id: UUID
    merchant_id: UUID
    visit_count: int
    total_spent_cents: int
    first_visit_at: datetime | None
    last_visit_at: datetime | None


class CustomerFile(BaseModel):
    account_id: UUID
    association_id: UUID
    title: str | None
    first_name: str | None
    last_name: str | None
    address: str | None
    postal_code: str | None
    town: str | None
    phone: str | None
    landline: str | None
    email: str | None
    birth_date: date | None
    spouse_birthday: date | None
    children_birthdays: list[date]
    language: str
    notes: str | None
    to_fill: list[str] = Field(description='the mandatory fields still missing ("à remplir")')
    enrolled_at: datetime | None
    enrolled_by_merchant: str | None
    visit_count: int
    total_spent_cents: int
    last_visit_at: datetime | None
    erased_at: datetime | None
    pseudonym: str | None
    merchants: list[MerchantFile]


class FormDetails(BaseModel):
    """The public form's view of one's own file."""

    title: str | None
    first_name: str | None
    last_name: str | None
    address: str | None
    postal_code: str | None
    town: str | None
    phone: str | None
    landline: str | None
    email: str | None
    birth_date: date | None
    spouse_birthday: date | None
    children_birthdays: list[date]
    language: str
    to_fill: list[str]


class DetailsLinkIn(Strict):
    channel: Literal["email", "sms"] | None = Field(
        default=None, description="by default the e-mail if the file has one, else the mobile"
    )
    merchant_id: UUID | None = None


class Requested(BaseModel):
    message_id: UUID
    channel: str
    template: str


class MemberIn(Strict):
    """A member of another shop's file joins the merchant's, with their consent per channel
    (the boxes ticked at the till)."""

    account_id: UUID
    channels: list[Literal["email", "sms", "post"]] = Field(max_length=3)


class Member(BaseModel):
    account_id: UUID
    merchant_id: UUID
    joined_at: datetime | None
    joined_how: str
    visit_count: int
    messages_requested: int


class MemberFile(Member):
    """A member as the merchant sees them: the contact details of the channels consented to
    only, for a member added from another shop's file."""

    details: FormDetails


class NameQuery(BaseModel):
    name: str = Field(min_length=2, max_length=120, description="words of the first or last name")
    limit: int = Field(default=20, ge=1, le=50)


class NamesIn(Strict):
    account_ids: list[UUID] = Field(
        min_length=1, max_length=50, description="the accounts to name (a dashboard's best)"
    )


class NamedCustomer(BaseModel):
    account_id: UUID
    first_name: str | None
    last_name: str | None
    postal_code: str | None


class NamedCustomers(BaseModel):
    customers: list[NamedCustomer]


class MembersQuery(BaseModel):
    limit: int = Field(default=100, ge=1, le=1000)
    after: UUID | None = Field(default=None, description="the last account of the page before")


class Members(BaseModel):
    accounts: list[UUID]
    next_after: UUID | None


def day_param(request: web.Request) -> date:
    try:
        return date.fromisoformat(request.match_info["day"])
    except ValueError as exc:
        raise Problem(422, "Bad day", "an ISO date, YYYY-MM-DD", reason="malformed") from exc
