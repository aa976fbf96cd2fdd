"""Bank details of a merchant, a partner, the association or the operator."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field

from services.clearing.domain import epc
from services.clearing.service import bank_details
from shared.access import Need
from shared.access_http import authorise
from shared.fields import Text
from shared.http import In, json_response, read_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
_PATH = "/v1/bank-details/{party_kind:merchant|partner|association|operator}/{party_id}"

PartyKind = Literal["merchant", "partner", "association", "operator"]


class AddressIn(In):
    """The lengths are those of the ISO 20022 elements the SEPA files carry them in."""

    street: Annotated[Text, Field(max_length=epc.STREET_MAX)] | None = None
    building_number: Annotated[Text, Field(max_length=epc.BUILDING_NUMBER_MAX)] | None = None
    postcode: Annotated[Text, Field(max_length=epc.POSTCODE_MAX)] | None = None
    town: Annotated[Text, Field(max_length=epc.TOWN_MAX)]
    country: str = Field(min_length=2, max_length=2, description="ISO 3166 alpha-2, e.g. CH")


class BankDetailsIn(In):
    holder: Annotated[Text, Field(max_length=70)] = Field(description="the account holder's name")
    iban: str = Field(min_length=1, max_length=64)
    bic: str | None = Field(default=None, min_length=1, max_length=16)
    mandate_id: str | None = Field(default=None, description="a merchant's direct-debit mandate")
    mandate_signed_on: date | None = None
    creditor_id: str | None = Field(default=None, description="the association's SEPA creditor id")
    address: AddressIn | None = Field(
        default=None,
        description="the holder's postal address; required when the IBAN is from a SEPA "
        "country outside the EEA (CH, GB, MC, SM, VA, AD, GI...)",
    )


class AddressOut(BaseModel):
    street: str | None
    building_number: str | None
    postcode: str | None
    town: str
    country: str


class BankDetailsOut(BaseModel):
    party_kind: PartyKind
    party_id: UUID
    holder: str
    iban: str
    bic: str | None
    mandate_id: str | None
    mandate_signed_on: date | None
    creditor_id: str | None
    address: AddressOut | None


class BankDetailsShown(BaseModel):
    """Bank details read back: the IBAN is never shown whole."""

    party_kind: PartyKind
    party_id: UUID
    holder: str
    iban_masked: str = Field(description="the IBAN, every character but the last 4 hidden (•)")
    iban_last4: str
    bic: str | None
    mandate_id: str | None
    mandate_signed_on: date | None
    creditor_id: str | None
    updated_at: datetime


async def _authorised_party(request: web.Request) -> tuple[str, UUID]:
    """The path's party, once the principal may reach its bank details: the association's
    admin its own, its merchants' and its partners' (those clearing knows); the operator,
    every party's."""
    rt = back_office(request)
    kind = request.match_info["party_kind"]
    pid = uuid_param(request, "party_id")
    aid = await bank_details.party_association(rt.pool, kind, pid)
    merchant = pid if kind == "merchant" else None
    authorise(request, Need.ASSOCIATION if aid else Need.OPERATOR, aid, merchant)
    return kind, pid


@routes.route(
    "GET",
    _PATH,
    summary="Read back a party's bank details (the IBAN masked but its last 4 characters)",
    returns=BankDetailsShown,
    tag="settlements",
)
async def get_bank_details(request: web.Request) -> web.Response:
    """Authorised as the PUT is; 404 `no_bank_details` when none are set. The IBAN is masked
    (`iban_masked`, `iban_last4`): it is never read back whole."""
    rt = back_office(request)
    kind, pid = await _authorised_party(request)
    return json_response(await bank_details.shown(rt.pool, kind, pid))


@routes.route(
    "PUT",
    _PATH,
    summary="Set the bank details of a merchant, a partner, the association or the operator",
    body=BankDetailsIn,
    returns=BankDetailsOut,
    tag="settlements",
)
async def put_bank_details(request: web.Request) -> web.Response:
    """IBAN (check digits and length per country), BIC, mandate, creditor id and postal
    address validated; an IBAN from a SEPA country outside the EEA needs the address (422,
    reason `invalid_address`, without it). The settlement files use what is here at the close.
    The operator's id is the nil UUID. The association's admin sets its own, its merchants'
    and its partners' (those clearing knows); the operator, every party's."""
    rt = back_office(request)
    kind, pid = await _authorised_party(request)
    body = await read_model(request, BankDetailsIn)
    typed = bank_details.Typed(
        holder=body.holder,
        iban=body.iban,
        bic=body.bic,
        mandate_id=body.mandate_id,
        mandate_signed_on=body.mandate_signed_on,
        creditor_id=body.creditor_id,
        address=None if body.address is None else body.address.model_dump(),
    )
    details = await bank_details.set_details(rt.pool, kind, pid, typed)
    return json_response({"party_kind": kind, "party_id": str(pid), **details.as_dict()})


class AssociationBankDetails(BaseModel):
    bank_details: list[BankDetailsShown] = Field(
        description="the association's own, its merchants' and its partners' that are set"
    )


@routes.route(
    "GET",
    "/v1/associations/{association_id}/bank-details",
    summary="Read back every bank details the association sets (the IBANs masked)",
    returns=AssociationBankDetails,
    tag="settlements",
)
async def list_bank_details(request: web.Request) -> web.Response:
    """The association's own, its merchants' and its partners' (a party with none is not
    listed), each as the GET of one party reads it back: one call for a page of parties."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    return json_response({"bank_details": await bank_details.shown_for_association(rt.pool, aid)})
