"""Every event is published with `mandatory`: one that no queue binds would come back from the
broker and stall its outbox. So every registered event type must be bound somewhere."""

from __future__ import annotations

import shared.contracts
from shared.broker import QUEUES
from shared.events import EventData, registered


def contracts() -> list[type[EventData]]:
    """The project's event types (tests register their own, on their own queues)."""
    return [m for m in registered() if m.__module__ == shared.contracts.__name__]


def test_every_event_type_has_a_queue() -> None:
    bound = {key for spec in QUEUES.values() for key in spec.routing_keys}
    unbound = sorted(m.routing_key() for m in contracts() if m.routing_key() not in bound)
    assert unbound == []


def test_every_binding_names_a_registered_event() -> None:
    known = {m.routing_key() for m in contracts()}
    bound = {key for spec in QUEUES.values() for key in spec.routing_keys}
    assert bound - known == set()
