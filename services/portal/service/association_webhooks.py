"""The association back office's webhooks (issue 15, item 3): the association's
subscriptions in notifications, their delivery log, a delivery sent again, a new secret;
each call with the person's own scope token (service/association.py's ``call``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.portal.adapters.services import Services
from services.portal.service.association import aid_of
from services.portal.service.calls import Refused, result
from shared.access import Principal

# The events a webhook may subscribe to (notifications' domain/webhooks.py EVENT_TYPES).
EVENT_TYPES = (
    "sale.booked",
    "redemption.booked",
    "customer.enrolled",
    "consent.changed",
    "status.changed",
    "statement.ready",
    "sponsorship.rewarded",
    "sponsorship.reward_reversed",
)


async def webhooks(services: Services, p: Principal) -> list[dict[str, Any]]:
    params = {"association_id": str(aid_of(p))}
    body = await result(
        services, p, "GET", "notifications", "/v1/webhook-subscriptions", params=params
    )
    return list(body)


async def subscribe(
    services: Services,
    p: Principal,
    subscription_id: UUID,
    url: str,
    events: list[str],
    description: str | None,
) -> dict[str, Any]:
    """A new subscription of the association's network under the form's id: the same form
    again answers the same subscription (its secret too while it was not rotated)."""
    body = {
        "association_id": str(aid_of(p)),
        "url": url,
        "event_types": events,
        "description": description,
    }
    path = f"/v1/webhook-subscriptions/{subscription_id}"
    return dict(await result(services, p, "PUT", "notifications", path, (200, 201), json=body))


async def unsubscribe(services: Services, p: Principal, subscription_id: UUID) -> None:
    path = f"/v1/webhook-subscriptions/{subscription_id}"
    try:
        await result(services, p, "DELETE", "notifications", path, (200, 204))
    except Refused as exc:
        if exc.status != 404 and exc.reason != "deleted":  # gone already: a second click
            raise


async def webhook(services: Services, p: Principal, subscription_id: UUID) -> dict[str, Any]:
    path = f"/v1/webhook-subscriptions/{subscription_id}"
    return dict(await result(services, p, "GET", "notifications", path))


async def deliveries(
    services: Services, p: Principal, subscription_id: UUID
) -> list[dict[str, Any]]:
    """The subscription's last 50 deliveries, newest first."""
    path = f"/v1/webhook-subscriptions/{subscription_id}/deliveries"
    return list(await result(services, p, "GET", "notifications", path, params={"limit": "50"}))


async def replay(services: Services, p: Principal, delivery_id: UUID) -> None:
    """A delivered or failed delivery sent again (the same webhook-id and body)."""
    path = f"/v1/webhook-deliveries/{delivery_id}/replay"
    await result(services, p, "POST", "notifications", path, (202,))


async def rotate(services: Services, p: Principal, subscription_id: UUID) -> dict[str, Any]:
    """A new signing secret (shown once); the previous one still signs for a while."""
    path = f"/v1/webhook-subscriptions/{subscription_id}/rotate-secret"
    return dict(await result(services, p, "POST", "notifications", path))
