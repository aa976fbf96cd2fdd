"""Each back-office route's check of who may reach its data (issue 15; shared/access.py has the
roles): the scope is read first (a customer's association, a merchant's), then authorised,
then the route acts."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from services.crm.adapters import scopes
from shared import merchants
from shared.access import Need, Principal
from shared.access_http import authorise, authorise_owner, principal
from shared.http import uuid_param
from shared.service import Runtime


async def customer(
    request: web.Request, rt: Runtime, merchant_id: UUID | None = None
) -> tuple[Principal, UUID]:
    """A customer-keyed route (HOLDER): the holder, or the people of the customer's network.
    A ``merchant_id`` given with it (a consent at a merchant, a message in its name) must be
    one of that network's merchants: 422 ``merchant_not_in_association`` otherwise, so that
    no one reaches a customer of A through a merchant of B. The principal and the account."""
    account_id = uuid_param(request, "account_id")
    association_id = await scopes.customer_association(rt.pool, account_id)
    p = authorise(request, Need.HOLDER, association_id, merchant_id, account_id)
    await merchants.check_in_association(rt.settings, association_id, merchant_id)
    return p, account_id


async def merchant(request: web.Request, rt: Runtime, need: Need, merchant_id: UUID) -> Principal:
    """A route keyed by a merchant alone: its association as the principal's scope tells."""
    association_id = await merchants.association_seen_by(
        rt.settings, principal(request), merchant_id
    )
    return authorise(request, need, association_id, merchant_id)


# The triggers, segments, campaigns and programmes of an association or of one of its merchants.
of = authorise_owner
