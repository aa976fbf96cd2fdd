"""Each back-office route's check of who may reach its data (issue 15; shared/access.py has the
roles): the scope is read first (a message's, a subscription's), then authorised, then the
route acts. A resource not found answers its own 404 before anything is authorised."""

from __future__ import annotations

from collections.abc import Awaitable
from uuid import UUID

from aiohttp import web

from services.notifications.adapters.scopes import Scope
from shared import merchants
from shared.access import Need, Principal
from shared.access_http import authorise, authorise_owner, principal
from shared.http import Problem
from shared.settings import Settings

# The webhooks and statements' notices of an association or of one of its merchants.
of = authorise_owner


def known(what: str, key: UUID, scope: Scope | None) -> Scope:
    """A resource's scope, or a 404 ``unknown_<what>`` (as the resource's own read says)."""
    if scope is None:
        raise Problem(404, f"Unknown {what}", f"no {what} {key}", reason=f"unknown_{what}")
    return scope


async def found(
    request: web.Request, what: str, key: UUID, scope: Awaitable[Scope | None]
) -> Principal:
    """A resource's scope authorised (``of``), or a 404 ``unknown_<what>``."""
    s = known(what, key, await scope)
    return of(request, s.association_id, s.merchant_id)


async def merchant(request: web.Request, settings: Settings, merchant_id: UUID) -> Principal:
    """A merchant's data asked by the merchant alone (MANAGER): its association as the
    principal's scope tells (shared/merchants.py)."""
    association_id = await merchants.association_seen_by(settings, principal(request), merchant_id)
    return authorise(request, Need.MANAGER, association_id, merchant_id)
