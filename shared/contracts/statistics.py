"""What the statistics need beyond the booked sales: a sale the till recorded without a member
(no card, no phone), so that the share of members in a shop's revenue is known rather than
guessed (docs/statistics.md)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from shared.contracts.base import MAX_SALE_CENTS, AtTerminal, Cents
from shared.events import register


@register
class AnonymousSaleRecorded(AtTerminal):
    """A sale without a member, as the till recorded it: its amount, its product family and
    its time (``occurred_at``). It earns nothing and is no visit; only the statistics take it."""

    name = "sales.anonymous_recorded"
    sale_id: UUID
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)
    product_family: str | None = Field(default=None, max_length=64)
