"""Back-office routes of accounts (F2): look-ups, details and identifiers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal, cast

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field

from services.cards.domain import identifiers
from services.cards.domain.identifiers import Kind as IdentifierKind
from services.cards.entrypoints.http import scoped
from services.cards.entrypoints.http.common import optional_body
from services.cards.service import accounts
from services.cards.service.views import Account, AccountDetail, LinkedIdentifier
from shared import clock
from shared.access import Need
from shared.access_http import authorise
from shared.fields import EmailAddress, Name, PhoneNumber, Title
from shared.http import In, Problem, json_response, parse_model, read_query, uuid_param
from shared.openapi import Routes
from shared.rules.codes import parse_card_number
from shared.rules.phone import normalise
from shared.service import back_office

routes = Routes()
TAG = "accounts"


def _birth_date(value: date) -> date:
    if not date(1900, 1, 1) <= value <= clock.today_paris():
        raise ValueError("a birth date is between 1900-01-01 and today")
    return value


PostalCode = Annotated[str, Field(pattern=r"^[0-9]{5}$"), AfterValidator(identifiers.postal_code)]
BirthDate = Annotated[date, AfterValidator(_birth_date)]


class AccountLookup(BaseModel):
    """Exactly one identifier of the account."""

    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    card: str | None = Field(default=None, max_length=64, description="the card number")
    token: str | None = Field(default=None, max_length=200, description="a bank-card token")


class AccountPatch(In):
    """The fields to change; null clears one (except the phone, which can only be changed).
    crm owns personal data: the correction reaches the customer file (its title, names, mobile,
    e-mail, birth date and postal code), so both are validated alike."""

    title: Title | None = Field(default=None, description="M, MME or MX, as in crm's file")
    first_name: Name | None = None
    last_name: Name | None = None
    email: EmailAddress | None = Field(
        default=None, description="checked by its syntax and lower-cased, as crm does"
    )
    birth_date: BirthDate | None = None
    postal_code: PostalCode | None = None
    phone: PhoneNumber | None = None


class IdentifierIn(In):
    kind: Literal["email", "token"]
    value: str = Field(min_length=1, max_length=254)


_PARSE: dict[IdentifierKind, Callable[[str], str]] = {
    "phone": normalise,
    "email": identifiers.email,
    "card": parse_card_number,
    "token": identifiers.token,
}


@routes.route(
    "GET",
    "/v1/associations/{association_id}/accounts",
    summary="Find an account by phone, e-mail, card number or bank-card token",
    query=AccountLookup,
    returns=Account,
    tag=TAG,
)
async def find_account(request: web.Request) -> web.Response:
    """Give exactly one of `phone`, `email`, `card`, `token`."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.HOLDER, aid)  # the network's front desks find any of its customers
    q = read_query(request, AccountLookup)
    given = {k: v for k, v in q.model_dump().items() if v is not None}
    if len(given) != 1:
        raise Problem(
            400,
            "One identifier",
            "give exactly one of phone, email, card, token"
            + (f" (got {', '.join(sorted(given))})" if given else ""),
        )
    ((name, raw),) = given.items()
    kind = cast(IdentifierKind, name)
    try:
        value = _PARSE[kind](raw)
    except ValueError as exc:  # InvalidPhone and InvalidCode are ValueErrors too
        raise Problem(
            400, "Invalid query", f"{kind}: {exc}", errors=[{"field": kind, "message": str(exc)}]
        ) from exc
    return json_response(await accounts.find(rt.pool, aid, kind, value))


@routes.route(
    "GET",
    "/v1/accounts/{account_id}",
    summary="An account: buckets, details, cards, identifiers and its last cagnotte entries",
    returns=AccountDetail,
    tag=TAG,
)
async def get_account(request: web.Request) -> web.Response:
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    await scoped.account(request, rt.pool, Need.HOLDER, account_id)
    return json_response(await accounts.detail(rt.pool, account_id))


@routes.route(
    "PATCH",
    "/v1/accounts/{account_id}",
    summary="Complete or correct an account holder's details",
    body=AccountPatch,
    returns=Account,
    tag=TAG,
)
async def patch_account(request: web.Request) -> web.Response:
    """Only the fields present change; null clears one. A phone or e-mail address already used
    by another account of the association is refused (409), as is an erased customer (409
    `erased_customer`). crm, which owns personal data, applies the correction to the customer
    file (`account.details_corrected.v1`) and tells the other services, as for its own."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    await scoped.account(request, rt.pool, Need.HOLDER, account_id)
    body = await optional_body(request, AccountPatch)
    changes = {f: getattr(body, f) for f in body.model_fields_set}
    return json_response(await accounts.patch(rt.pool, account_id, changes))


@routes.route(
    "POST",
    "/v1/accounts/{account_id}/identifiers",
    summary="Link an e-mail address or a bank-card token to an account",
    body=IdentifierIn,
    returns=LinkedIdentifier,
    status=201,
    also=(200,),
    tag=TAG,
)
async def link_identifier(request: web.Request) -> web.Response:
    """201 when linked now, 200 when it was already linked to this account, 409 when another
    account of the association has it."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    await scoped.account(request, rt.pool, Need.HOLDER, account_id)
    body = parse_model(await request.read(), IdentifierIn)
    try:
        value = (
            identifiers.email(body.value) if body.kind == "email" else identifiers.token(body.value)
        )
    except ValueError as exc:
        raise Problem(
            422, "Invalid identifier", str(exc), errors=[{"field": "value", "message": str(exc)}]
        ) from exc
    linked, created = await accounts.link(rt.pool, account_id, body.kind, value)
    return json_response(linked, 201 if created else 200)
