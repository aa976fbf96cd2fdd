"""The scope token on the HTTP side (shared/access.py has the rules): who a back-office request
acts for (``authenticate``), and whether it may reach the data a route touches
(``authorise``). A route that answers a scoped person without having authorised anything is
refused by shared/http's middleware: a check cannot be forgotten silently."""

from __future__ import annotations

import hmac
from uuid import UUID

from aiohttp import web

from shared.access import BOOTSTRAP, Need, Principal, Refused, Verifier, allows
from shared.http import DECIDED, PRINCIPAL, Problem


def authenticate(request: web.Request, admin_token: str, verifier: Verifier) -> Principal:
    given = request.headers.get("Authorization", "")
    scheme, _, credential = given.partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise Problem(
            401,
            "Unauthorized",
            "send Authorization: Bearer <scope token>",
            reason="missing_token",
        )
    if hmac.compare_digest(credential.encode(), admin_token.encode()):
        return BOOTSTRAP
    if credential.count(".") != 2:
        raise Problem(401, "Unauthorized", "the bearer token is refused", reason="invalid_token")
    try:
        return verifier.verify(credential)
    except Refused as exc:
        raise Problem(401, "Unauthorized", exc.detail, reason=exc.reason) from exc


def principal(request: web.Request) -> Principal:
    """The request's principal (after ``back_office``)."""
    p: Principal | None = request.get(PRINCIPAL)
    if p is None:
        raise Problem(
            401, "Unauthorized", "send Authorization: Bearer <scope token>", reason="missing_token"
        )
    return p


def authorise(
    request: web.Request,
    need: Need,
    association_id: UUID | None = None,
    merchant_id: UUID | None = None,
    account_id: UUID | None = None,
) -> Principal:
    """Refuse (403 ``out_of_scope``) unless the request's principal may do ``need`` on the data
    of this association, merchant or account; the principal, for the actor of a change."""
    p = principal(request)
    if not allows(p, need, association_id, merchant_id, account_id):
        raise Problem(
            403,
            "Forbidden",
            f"a {p.role}'s sign-in does not reach this {need.value} resource",
            reason="out_of_scope",
        )
    request[DECIDED] = True
    return p


def authorise_owner(
    request: web.Request, association_id: UUID | None, merchant_id: UUID | None
) -> Principal:
    """What an association or one of its merchants owns (a trigger, a segment, a campaign, a
    webhook, a promotion): the association's (ASSOCIATION) when it names no merchant, else
    that merchant's back office (MANAGER)."""
    need = Need.ASSOCIATION if merchant_id is None else Need.MANAGER
    return authorise(request, need, association_id, merchant_id)
