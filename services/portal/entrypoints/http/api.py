"""The portal's JSON API: people and machines' API tokens (a signed-in session with its CSRF
header, or the operator's bootstrap admin token), and the exchange of an API token for a
scope token (POST /v1/tokens, OAuth client-credentials style)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field

from services.portal.domain.people import PersonRole, Scope
from services.portal.entrypoints import web as w
from services.portal.service import people, tokens
from shared.access import BOOTSTRAP
from shared.db.query import as_model, as_models
from shared.fields import EmailAddress
from shared.http import In, Problem, json_response, read_model, uuid_param
from shared.openapi import Routes

routes = Routes()
TAG = "identities"


class ScopeIn(In):
    role: PersonRole
    association_id: UUID | None = None
    merchant_id: UUID | None = None

    def scope(self) -> Scope:
        return Scope(self.role, self.association_id, self.merchant_id)


class PersonIn(ScopeIn):
    email: EmailAddress
    name: str = Field(min_length=1, max_length=200)
    language: Literal["fr", "en"] = "fr"


class Person(BaseModel):
    id: UUID
    email: str
    name: str
    role: PersonRole
    association_id: UUID | None
    merchant_id: UUID | None
    password_set_at: datetime | None
    created_at: datetime


class PasswordIn(In):
    password: str = Field(min_length=people.MIN_PASSWORD, max_length=people.MAX_PASSWORD)


class TokenIn(ScopeIn):
    name: str = Field(min_length=1, max_length=200)


class ApiToken(BaseModel):
    id: UUID
    name: str
    role: PersonRole
    association_id: UUID | None
    merchant_id: UUID | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedToken(ApiToken):
    secret: str = Field(description="shown once: only its hash is kept")


class ScopeToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


def _shaped(scope: Scope) -> Scope:
    if not scope.well_formed():
        raise Problem(
            422, "Invalid scope", "the role's ids are missing or extra", reason="invalid_scope"
        )
    return scope


@routes.route(
    "PUT",
    "/v1/people/{person_id}",
    summary="Create a person (within the caller's reach); a link to set the password is e-mailed",
    body=PersonIn,
    returns=Person,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_person(request: web.Request) -> web.Response:
    """The operator creates anyone; an association's administrator the administrators,
    managers and staff of their association; a manager the staff of their merchant. The same
    request again answers 200; another person under the id, 409."""
    p = await w.caller(request)
    body = await read_model(request, PersonIn)
    row, link = await people.create(
        w.portal(request),
        p,
        uuid_param(request, "person_id"),
        body.email.lower(),
        body.name,
        _shaped(body.scope()),
        body.language,
    )
    return json_response(as_model(Person, row), 201 if link is not None else 200)


@routes.route(
    "GET",
    "/v1/people",
    summary="The people within the caller's reach (those they may create), and themselves",
    returns=None,
    tag=TAG,
)
async def get_people(request: web.Request) -> web.Response:
    p = await w.caller(request)
    found = as_models(Person, await people.listed(w.portal(request), p))
    return json_response([person.model_dump(mode="json") for person in found])


@routes.route(
    "PUT",
    "/v1/people/{person_id}/password",
    summary="Set a person's password without a link (the operator's bootstrap admin token)",
    body=PasswordIn,
    status=204,
    tag=TAG,
)
async def put_password(request: web.Request) -> web.Response:
    """For the first operator and the demo: every session of the person is revoked."""
    if await w.caller(request) is not BOOTSTRAP:
        raise Problem(403, "Forbidden", "the admin token only", reason="out_of_scope")
    body = await read_model(request, PasswordIn)
    if not await people.force_password(
        w.portal(request), uuid_param(request, "person_id"), body.password
    ):
        raise Problem(404, "Unknown person", "no such person", reason="unknown_person")
    return web.Response(status=204)


@routes.route(
    "POST",
    "/v1/api-tokens",
    summary="Create a machine's API token no wider than the caller's scope (secret shown once)",
    body=TokenIn,
    returns=IssuedToken,
    status=201,
    tag=TAG,
)
async def post_token(request: web.Request) -> web.Response:
    p = await w.caller(request)
    body = await read_model(request, TokenIn)
    issued = await tokens.create(w.portal(request), p, body.name, _shaped(body.scope()))
    made = IssuedToken(**as_model(ApiToken, issued.row).model_dump(), secret=issued.secret)
    return json_response(made, 201)


@routes.route(
    "GET",
    "/v1/api-tokens",
    summary="The API tokens within the caller's reach",
    tag=TAG,
    returns=None,
)
async def get_tokens(request: web.Request) -> web.Response:
    p = await w.caller(request)
    found = as_models(ApiToken, await tokens.listed(w.portal(request), p))
    return json_response([t.model_dump(mode="json") for t in found])


@routes.route(
    "DELETE",
    "/v1/api-tokens/{token_id}",
    summary="Revoke an API token: its exchanges are refused from now on",
    returns=ApiToken,
    tag=TAG,
)
async def delete_token(request: web.Request) -> web.Response:
    p = await w.caller(request)
    row = await tokens.revoke(w.portal(request), p, uuid_param(request, "token_id"))
    return json_response(as_model(ApiToken, row))


@routes.route(
    "POST",
    "/v1/tokens",
    summary="Exchange an API token (Authorization: Bearer <API token>) for a scope token",
    returns=ScopeToken,
    admin=False,
    bearer="api_token",
    tag=TAG,
)
async def exchange(request: web.Request) -> web.Response:
    """OAuth 2.0 client credentials in spirit (RFC 6749 §4.4): the answer's `access_token` is
    the scope token to send the services, for `expires_in` seconds."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        raise Problem(
            401, "Unauthorized", "send Authorization: Bearer <API token>", reason="missing_token"
        )
    token, lifetime = await tokens.exchange(w.portal(request), secret)
    return json_response(ScopeToken(access_token=token, expires_in=lifetime))
