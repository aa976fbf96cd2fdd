"""What clearing tells the others (a statement ready), and what any consumer tells when it
gives up on an event."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from shared.contracts.base import Cents
from shared.events import EventData, register


@register
class MonthlyStatementReady(EventData):
    """A merchant's statement of a closed period (clearing → notifications, which sends it).
    ``net_cents`` > 0: the merchant pays the pivot; < 0: the pivot pays the merchant."""

    name = "statement.ready"
    statement_id: UUID
    association_id: UUID
    merchant_id: UUID
    merchant_name: str
    period_start: date
    period_end: date
    purchases_count: int
    purchases_cents: Cents
    cagnottages_cents: Cents
    fees_cents: Cents
    redemptions_count: int
    redemptions_cents: Cents
    net_cents: Cents = Field(
        description="> 0: the merchant pays the pivot; < 0: the pivot pays the merchant"
    )
    xlsx_path: str = Field(description="the XLSX export, on clearing's API")
    csv_path: str = Field(description="the CSV export, on clearing's API")


@register
class EventDeadLettered(EventData):
    """A consumer could not process an event and set it aside (its queue's ``.dead`` twin
    and ``dead_letters``, with the reason). Published through the outbox of the service that
    gave up, in the transaction that set it aside: the gateway ends the terminal request the
    event carried as failed, so no request waits for ever (issue 11, build item 5)."""

    name = "event.dead_lettered"
    service: str = Field(description="the service whose consumer gave up")
    event_id: str | None = None
    event_type: str | None = None
    event_source: str | None = None
    subject: str | None = None
    reason: str = Field(max_length=1000)
