"""The statistics' counting (docs/statistics.md): each fact (a member's sale, a sale without a
member, a return, a cancelled sale, a redemption, an enrolment) turned into what it adds to
the aggregates of its day, its shop, its association and the network. Pure: the consumer
reads the facts from the events, counts each once, and writes these sums.

A day and an hour are Paris's (Europe/Paris), as on the statements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, NamedTuple
from uuid import UUID

from shared.clock import PARIS

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


class Line(NamedTuple):
    """One fact as the statistics keep it (and export it as a detail line). A named tuple, as
    ``visits.Visit``: one is built per booked line, and a frozen dataclass's eleven
    ``object.__setattr__`` took 5 µs of it against under 1 (docs/benchmarks.md)."""

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

    def _customer(self, line: Line, day: date, visits: int, spent_cents: int) -> None:
        assert line.account_id is not None
        key = (line.shop_id, day, line.account_id)
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


# What each kind of fact adds to which counter: (counter's slot in COUNTERS, per fact, per
# cent of its amount, per cent of its reward). A sale and a cancellation also move the traffic
# (±1 in their hour). These tables are the rule: ``count`` applies them to a batch in Python,
# the roll-up (adapters/statistics_roll_up.py) compiles them into its SQL, and a test checks
# that both give the same sums.
def _adds(*terms: tuple[str, int, int, int]) -> tuple[tuple[int, int, int, int], ...]:
    return tuple((COUNTERS.index(name), n, amount, reward) for name, n, amount, reward in terms)


ADDS: dict[LineKind, tuple[tuple[int, int, int, int], ...]] = {
    "sale": _adds(
        ("member_sales", 1, 0, 0),
        ("member_sales_cents", 0, 1, 0),
        ("rewards_granted_cents", 0, 0, 1),
    ),
    "anonymous_sale": _adds(("anonymous_sales", 1, 0, 0), ("anonymous_sales_cents", 0, 1, 0)),
    "return": _adds(
        ("returns", 1, 0, 0), ("returned_cents", 0, 1, 0), ("rewards_granted_cents", 0, 0, -1)
    ),
    "cancellation": _adds(
        ("member_sales", -1, 0, 0),
        ("member_sales_cents", 0, -1, 0),
        ("rewards_granted_cents", 0, 0, -1),
    ),
    "redemption": _adds(("redemptions", 1, 0, 0), ("rewards_spent_cents", 0, 1, 0)),
}
TRAFFIC: dict[LineKind, int] = {"sale": 1, "anonymous_sale": 1, "cancellation": -1}
# A member's visits and spending at the shop that day (visits, sign of the amount).
CUSTOMER: dict[LineKind, tuple[int, int]] = {
    "sale": (1, 1),
    "return": (0, -1),
    "cancellation": (-1, -1),
}
_HOUR = len(COUNTERS)  # the sales in the hour, after the counters


def count(lines: Iterable[Line], sales: Mapping[UUID, Line]) -> Deltas:
    """The aggregates' changes for facts new to the statistics. ``sales`` holds the sales the
    cancellations among them name (those the statistics know): a cancelled sale is taken out
    of its own day, shop and hour, as if it never happened; a cancellation of a sale the
    statistics never saw is taken out of the cancellation's day and shop instead.

    The facts are summed per shop, day and hour first, then each sum goes once to the shop's,
    the association's and the network's day. This is the rule in Python: the service adds
    the facts with the roll-up's SQL, compiled from the same tables, and
    tests/integration/test_statistics_roll_up.py checks both give the same sums."""
    out = Deltas()
    sums: dict[tuple[UUID, UUID, UUID, date, int], list[int]] = {}
    for line in lines:
        kind = line.kind
        where = line
        if kind == "cancellation" and line.sale_id is not None:
            where = sales.get(line.sale_id) or line
        day, hour = paris(where.occurred_at)
        key = (where.shop_id, where.merchant_id, where.association_id, day, hour)
        row = sums.get(key)
        if row is None:
            row = sums[key] = [0] * (_HOUR + 1)
        amount, reward = line.amount_cents, line.reward_cents
        for slot, n, per_amount, per_reward in ADDS[kind]:
            row[slot] += n + per_amount * amount + per_reward * reward
        row[_HOUR] += TRAFFIC.get(kind, 0)
        customer = CUSTOMER.get(kind)
        if customer is not None and where.account_id is not None:
            out._customer(where, day, customer[0], customer[1] * amount)
    for (shop_id, merchant_id, association_id, day, hour), row in sums.items():
        for scope_id, shop_merchant in (
            (shop_id, merchant_id),
            (association_id, None),
            (NETWORK, None),
        ):
            day_row = out.days.get((scope_id, day))
            if day_row is None:
                day_row = out.days[(scope_id, day)] = DayRow(shop_merchant)
            counters = day_row.counters
            for slot, name in enumerate(COUNTERS):
                if row[slot]:
                    counters[name] += row[slot]
            day_row.sales_by_hour[hour] += row[_HOUR]
    return out
