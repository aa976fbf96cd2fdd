"""The statistics' counting (docs/statistics.md): each fact (a member's sale, a sale without a
member, a return, a cancelled sale, a redemption, an enrolment) turned into what it adds to
the aggregates of its day, its shop, its association and the network. Pure: the consumer
reads the facts from the events, counts each once, and writes these sums.

A day and an hour are Paris's (Europe/Paris), as on the statements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
# The network's scope id in the aggregates (shops and associations have their own ids).
NETWORK = UUID(int=0)
# An account opened without a merchant (a card issued by the back office, an import).
NO_MERCHANT = UUID(int=1)

LineKind = Literal["sale", "anonymous_sale", "return", "cancellation", "redemption"]
COUNTERS = (
    "member_sales",
    "member_sales_cents",
    "anonymous_sales",
    "anonymous_sales_cents",
    "returns",
    "returned_cents",
    "rewards_granted_cents",
    "redemptions",
    "rewards_spent_cents",
)


def paris(at: datetime) -> tuple[date, int]:
    """The Paris day and hour of an instant."""
    local = at.astimezone(PARIS)
    return local.date(), local.hour


@dataclass(frozen=True, slots=True)
class Line:
    """One fact as the statistics keep it (and export it as a detail line)."""

    kind: LineKind
    id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    account_id: UUID | None
    occurred_at: datetime
    amount_cents: int
    reward_cents: int = 0
    product_family: str | None = None
    sale_id: UUID | None = None  # a return's or a cancellation's sale

    @property
    def day(self) -> date:
        return paris(self.occurred_at)[0]


@dataclass(slots=True)
class DayRow:
    """What a batch adds to one scope's day."""

    merchant_id: UUID | None
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    sales_by_hour: list[int] = field(default_factory=lambda: [0] * 24)


@dataclass(slots=True)
class CustomerDay:
    merchant_id: UUID
    association_id: UUID
    visits: int = 0
    spent_cents: int = 0


@dataclass
class Deltas:
    """What a batch of facts adds to the aggregates, one entry per row to update."""

    days: dict[tuple[UUID, date], DayRow] = field(default_factory=dict)
    customers: dict[tuple[UUID, date, UUID], CustomerDay] = field(default_factory=dict)
    enrolments: dict[tuple[UUID, date], int] = field(default_factory=dict)

    def _scopes(self, line: Line, day: date) -> list[DayRow]:
        keys = (
            (line.shop_id, line.merchant_id),
            (line.association_id, None),
            (NETWORK, None),
        )
        rows = []
        for scope_id, merchant_id in keys:
            row = self.days.get((scope_id, day))
            if row is None:
                row = self.days[(scope_id, day)] = DayRow(merchant_id)
            rows.append(row)
        return rows

    def _add(
        self, line: Line, at: datetime, counters: Mapping[str, int], sales_in_hour: int = 0
    ) -> None:
        day, hour = paris(at)
        for row in self._scopes(line, day):
            for name, value in counters.items():
                row.counters[name] += value
            row.sales_by_hour[hour] += sales_in_hour

    def _customer(self, line: Line, at: datetime, visits: int, spent_cents: int) -> None:
        if line.account_id is None:
            return
        key = (line.shop_id, paris(at)[0], line.account_id)
        row = self.customers.get(key)
        if row is None:
            row = self.customers[key] = CustomerDay(line.merchant_id, line.association_id)
        row.visits += visits
        row.spent_cents += spent_cents

    def enrolled(self, association_id: UUID, merchant_id: UUID | None, at: datetime) -> None:
        """An account opened: an enrolment of its association, its merchant, the network."""
        day = paris(at)[0]
        for scope_id in (association_id, merchant_id or NO_MERCHANT, NETWORK):
            self.enrolments[(scope_id, day)] = self.enrolments.get((scope_id, day), 0) + 1


def count(lines: Iterable[Line], sales: Mapping[UUID, Line]) -> Deltas:
    """The aggregates' changes for facts new to the statistics. ``sales`` holds the sales the
    cancellations among them name (those the statistics know): a cancelled sale is taken out
    of its own day, shop and hour, as if it never happened; a cancellation of a sale the
    statistics never saw is taken out of the cancellation's day and shop instead."""
    out = Deltas()
    for line in lines:
        if line.kind == "sale":
            out._add(
                line,
                line.occurred_at,
                {
                    "member_sales": 1,
                    "member_sales_cents": line.amount_cents,
                    "rewards_granted_cents": line.reward_cents,
                },
                1,
            )
            out._customer(line, line.occurred_at, 1, line.amount_cents)
        elif line.kind == "anonymous_sale":
            out._add(
                line,
                line.occurred_at,
                {"anonymous_sales": 1, "anonymous_sales_cents": line.amount_cents},
                1,
            )
        elif line.kind == "return":
            out._add(
                line,
                line.occurred_at,
                {
                    "returns": 1,
                    "returned_cents": line.amount_cents,
                    "rewards_granted_cents": -line.reward_cents,
                },
            )
            out._customer(line, line.occurred_at, 0, -line.amount_cents)
        elif line.kind == "cancellation":
            sale = sales.get(line.sale_id) if line.sale_id is not None else None
            where = sale or line
            out._add(
                where,
                where.occurred_at,
                {
                    "member_sales": -1,
                    "member_sales_cents": -line.amount_cents,
                    "rewards_granted_cents": -line.reward_cents,
                },
                -1,
            )
            out._customer(where, where.occurred_at, -1, -line.amount_cents)
        else:  # a redemption of rewards (a spending of stored value is no reward spent)
            out._add(
                line, line.occurred_at, {"redemptions": 1, "rewards_spent_cents": line.amount_cents}
            )
    return out
