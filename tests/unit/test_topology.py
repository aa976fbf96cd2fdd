"""Every event is published with `mandatory`: one that no queue binds would come back from the
broker and stall its outbox. So every registered event type must be bound somewhere."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import shared.contracts
from deploy import topology
from shared.broker import QUEUES, TOPOLOGY
from shared.contracts import AccountOpened
from shared.events import EventData, registered
from shared.service import ServiceSpec, Subscriptions, always, topology_or_exit


def contracts() -> list[type[EventData]]:
    """The project's event types (tests register their own, on their own queues)."""
    return [m for m in registered() if m.__module__.startswith(f"{shared.contracts.__name__}.")]


def test_every_event_type_has_a_queue() -> None:
    bound = {key for spec in QUEUES.values() for key in spec.routing_keys}
    unbound = sorted(m.routing_key() for m in contracts() if m.routing_key() not in bound)
    assert unbound == []


def test_every_binding_names_a_registered_event() -> None:
    known = {m.routing_key() for m in contracts()}
    bound = {key for spec in QUEUES.values() for key in spec.routing_keys}
    assert bound - known == set()


def test_the_committed_topology_is_what_the_services_subscriptions_generate() -> None:
    # A handler added in a service's subscriptions and not bound would never be called; one
    # removed and still bound would dead-letter its events.
    assert TOPOLOGY.read_text() == topology.render()


def test_a_service_whose_subscriptions_are_not_the_topology_refuses_to_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = ServiceSpec(
        "crm",
        Path("."),
        subscriptions=Subscriptions("crm.events", {AccountOpened: always(_nothing)}),
    )
    with pytest.raises(SystemExit) as exc:
        topology_or_exit(spec)
    assert exc.value.code == 2
    assert "run python -m deploy.topology" in capsys.readouterr().err


async def _nothing(conn: Any, events: Any) -> list[Any]:
    return []


def test_a_service_s_other_queue_is_checked_too(capsys: pytest.CaptureFixture[str]) -> None:
    from services.notifications.app import SPEC

    topology_or_exit(SPEC)  # the committed topology: starts
    (webhooks,) = SPEC.more_subscriptions
    fewer = Subscriptions(webhooks.queue, {AccountOpened: always(_nothing)}, webhooks.inbox)
    with pytest.raises(SystemExit) as exc:
        topology_or_exit(replace(SPEC, more_subscriptions=(fewer,)))
    assert exc.value.code == 2
    assert "notifications.webhooks" in capsys.readouterr().err


def test_an_inbox_is_a_plain_table_name() -> None:
    with pytest.raises(ValueError):
        Subscriptions("q", {}, inbox="inbox; DROP TABLE outbox")
