"""The front desk's quick enrolment through the back office (F3; issue 15, CARD)."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field, model_validator

from services.cards.service import desk_enrolments
from shared.access import Need
from shared.access_http import authorise
from shared.fields import EmailAddress, Name, PhoneNumber
from shared.http import In, json_response, parse_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "accounts"


class EnrolmentIn(In):
    enrolment_id: UUID = Field(description="chosen by the client, carried in account.opened")
    merchant_id: UUID = Field(description="the merchant whose counter enrols the customer")
    phone: PhoneNumber | None = None
    email: EmailAddress | None = Field(default=None, description="lower-cased")
    first_name: Name | None = None
    last_name: Name | None = None

    @model_validator(mode="after")
    def _a_contact(self) -> EnrolmentIn:
        if self.phone is None and self.email is None:
            raise ValueError("an enrolment gives a phone or an e-mail address (or both)")
        return self


class Enrolled(BaseModel):
    account_id: UUID
    enrolment_id: UUID


@routes.route(
    "POST",
    "/v1/associations/{association_id}/enrolments",
    summary="Enrol a customer at a merchant's counter by mobile or e-mail",
    body=EnrolmentIn,
    returns=Enrolled,
    status=201,
    tag=TAG,
)
async def enrol(request: web.Request) -> web.Response:
    """The merchant's front desk (STAFF). A new account, as a till's enrolment opens it: crm
    opens the customer file and sends the link to complete it. A mobile or e-mail already
    used in the association: 409 `already_enrolled` with its `account_id`."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    body = parse_model(await request.read(), EnrolmentIn)
    authorise(request, Need.STAFF, aid, body.merchant_id)
    account = await desk_enrolments.enrol(
        rt.pool, desk_enrolments.DeskEnrolment(association_id=aid, **body.model_dump())
    )
    return json_response(Enrolled(account_id=account, enrolment_id=body.enrolment_id), 201)
