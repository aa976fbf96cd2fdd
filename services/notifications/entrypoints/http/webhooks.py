"""Webhooks for the back office (docs/webhooks.md): an association's or a merchant's
subscriptions, their secrets, the delivery log and the manual replay."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel

from services.notifications.adapters import scopes
from services.notifications.adapters.webhooks import Delivery, Subscription
from services.notifications.entrypoints.http import scope
from services.notifications.entrypoints.webhook_events import live_networks
from services.notifications.service import webhooks
from services.notifications.service.webhooks import (
    DeliveryLog,
    NewSubscription,
    Rotated,
    Subscribed,
    SubscribedById,
)
from shared import merchants
from shared.db import transaction
from shared.http import json_response, parse_model, read_query, uuid_param
from shared.openapi import Routes
from shared.service import Runtime, back_office

routes = Routes()
TAG = "webhooks"
_SUB = "/v1/webhook-subscriptions/{subscription_id}"


class SubscriptionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    association_id: UUID
    merchant_id: UUID | None = Field(default=None, description="only this merchant's")


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["pending", "delivering", "delivered", "failed"] | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class Subscriptions(RootModel[list[Subscription]]):
    pass


class Deliveries(RootModel[list[Delivery]]):
    pass


async def _subscription(request: web.Request, rt: Runtime) -> UUID:
    """The path's subscription, once its scope is authorised: an association's (ASSOCIATION)
    or a merchant's (MANAGER); 404 ``unknown_subscription``."""
    sub_id = uuid_param(request, "subscription_id")
    await scope.found(request, "subscription", sub_id, scopes.subscription(rt.pool, sub_id))
    return sub_id


async def _delivery(request: web.Request, rt: Runtime) -> UUID:
    """The path's delivery, once its subscription's scope is authorised."""
    delivery_id = uuid_param(request, "delivery_id")
    await scope.found(request, "delivery", delivery_id, scopes.delivery(rt.pool, delivery_id))
    return delivery_id


@routes.route(
    "POST",
    "/v1/webhook-subscriptions",
    summary="Subscribe an HTTPS URL to event types (the secret is shown once)",
    body=NewSubscription,
    returns=Subscribed,
    status=201,
    tag=TAG,
)
async def subscribe(request: web.Request) -> web.Response:
    """A merchant's subscription names one of the association's merchants (asked of cards):
    422 `merchant_not_in_association` otherwise."""
    rt = back_office(request)
    body = parse_model(await request.read(), NewSubscription, strict=True)
    development = rt.settings.env == "development"
    scope.of(request, body.association_id, body.merchant_id)
    await merchants.check_in_association(rt.settings, body.association_id, body.merchant_id)

    async def work(conn: asyncpg.Connection) -> Subscribed:
        return await webhooks.subscribe(conn, body, development)

    created = await transaction(rt.pool, work)
    live_networks(rt).invalidate()  # committed: this replica's next events hear of it
    return json_response(created, 201)


@routes.route(
    "PUT",
    _SUB,
    summary="Subscribe under the client's id: the same request again answers the same one",
    body=NewSubscription,
    returns=SubscribedById,
    status=201,
    also=(200,),
    tag=TAG,
)
async def subscribe_as(request: web.Request) -> web.Response:
    """Idempotent: 201 with the secret when made; the same body again, 200 with the same
    subscription (its secret too while no rotation replaced it: the first answer may have been
    lost); another body under the id, 409 `subscription_id_taken`; a deleted one's id, 409
    `deleted`. An id of another association's subscription is refused (403) as its other
    routes are. A merchant's subscription names one of the association's merchants (422
    `merchant_not_in_association` otherwise)."""
    rt = back_office(request)
    sub_id = uuid_param(request, "subscription_id")
    body = parse_model(await request.read(), NewSubscription, strict=True)
    development = rt.settings.env == "development"
    scope.of(request, body.association_id, body.merchant_id)
    existing = await scopes.subscription(rt.pool, sub_id)
    if existing is not None:
        scope.of(request, existing.association_id, existing.merchant_id)
    await merchants.check_in_association(rt.settings, body.association_id, body.merchant_id)

    async def work(conn: asyncpg.Connection) -> tuple[SubscribedById, bool]:
        return await webhooks.subscribe_as(conn, sub_id, body, development)

    answer, created = await transaction(rt.pool, work)
    if created:
        live_networks(rt).invalidate()
    return json_response(answer, 201 if created else 200)


@routes.route(
    "GET",
    "/v1/webhook-subscriptions",
    summary="An association's (or one merchant's) live subscriptions",
    query=SubscriptionQuery,
    returns=Subscriptions,
    tag=TAG,
)
async def list_subscriptions(request: web.Request) -> web.Response:
    rt = back_office(request)
    q = read_query(request, SubscriptionQuery)
    scope.of(request, q.association_id, q.merchant_id)
    found = await webhooks.subscriptions_of(rt.pool, q.association_id, q.merchant_id)
    return json_response(Subscriptions(found))


@routes.route("GET", _SUB, summary="One subscription", returns=Subscription, tag=TAG)
async def get_subscription(request: web.Request) -> web.Response:
    rt = back_office(request)
    return json_response(await webhooks.subscription(rt.pool, await _subscription(request, rt)))


@routes.route(
    "DELETE",
    _SUB,
    summary="Delete a subscription: what it had still to deliver is failed",
    returns=Subscription,
    tag=TAG,
)
async def delete_subscription(request: web.Request) -> web.Response:
    rt = back_office(request)
    sub_id = await _subscription(request, rt)

    async def work(conn: asyncpg.Connection) -> Subscription:
        return await webhooks.unsubscribe(conn, sub_id)

    deleted = await transaction(rt.pool, work)
    live_networks(rt).invalidate()
    return json_response(deleted)


@routes.route(
    "POST",
    _SUB + "/rotate-secret",
    summary="A new secret; the previous ones still sign for COMPTOIR_WEBHOOK_ROTATION_HOURS",
    returns=Rotated,
    tag=TAG,
)
async def rotate_secret(request: web.Request) -> web.Response:
    rt = back_office(request)
    sub_id = await _subscription(request, rt)
    keep = timedelta(hours=rt.settings.webhook_rotation_hours)

    async def work(conn: asyncpg.Connection) -> Rotated:
        return await webhooks.rotate(conn, sub_id, keep)

    return json_response(await transaction(rt.pool, work))


@routes.route(
    "GET",
    _SUB + "/deliveries",
    summary="A subscription's delivery log, newest first: status, attempts, last answer",
    query=DeliveryQuery,
    returns=Deliveries,
    tag=TAG,
)
async def list_deliveries(request: web.Request) -> web.Response:
    rt = back_office(request)
    q = read_query(request, DeliveryQuery)
    sub_id = await _subscription(request, rt)
    return json_response(Deliveries(await webhooks.deliveries(rt.pool, sub_id, q.status, q.limit)))


@routes.route(
    "GET",
    "/v1/webhook-deliveries/{delivery_id}",
    summary="One delivery with every attempt (time, HTTP status or error, duration)",
    returns=DeliveryLog,
    tag=TAG,
)
async def get_delivery(request: web.Request) -> web.Response:
    rt = back_office(request)
    return json_response(await webhooks.log(rt.pool, await _delivery(request, rt)))


@routes.route(
    "POST",
    "/v1/webhook-deliveries/{delivery_id}/replay",
    summary="Send a delivered or failed delivery again (same webhook-id and body)",
    returns=DeliveryLog,
    status=202,
    tag=TAG,
)
async def replay(request: web.Request) -> web.Response:
    rt = back_office(request)
    delivery_id = await _delivery(request, rt)

    async def work(conn: asyncpg.Connection) -> DeliveryLog:
        return await webhooks.replay(conn, delivery_id)

    return json_response(await transaction(rt.pool, work), 202)
