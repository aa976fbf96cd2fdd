"""Which registration of a partner counts: the newest, by its time."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from shared.contracts import PartnerRegistered
from shared.events import Event


def newest(events: Iterable[Event[PartnerRegistered]]) -> list[Event[PartnerRegistered]]:
    """The newest event of each partner (of equal times, the last seen), in partner id order:
    one lock order for concurrent batches."""
    latest: dict[UUID, Event[PartnerRegistered]] = {}
    for e in events:
        seen = latest.get(e.data.partner_id)
        if seen is None or e.time >= seen.time:
            latest[e.data.partner_id] = e
    return [latest[k] for k in sorted(latest)]
