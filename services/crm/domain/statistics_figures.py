"""The statistics' figures (docs/statistics.md) from the aggregates' sums: the period asked and
the previous one, the scope, and each figure's arithmetic. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal
from uuid import UUID

from services.crm.domain.statistics import COUNTERS

ScopeKind = Literal["shop", "merchant", "association", "network"]
MAX_DAYS = 3 * 366 + 365  # four years and a day: two years compared with the two before
INACTIVE_AFTER_DAYS = 90  # no visit in the last 90 days of the period
INACTIVE_LOOKBACK_DAYS = 365  # ... after one in the 365 days before them
BEST_CUSTOMERS = 10
# Visits per customer in the period, in these buckets (the last one open).
FREQUENCY_BUCKETS = ((1, 1), (2, 2), (3, 5), (6, 10), (11, None))


class RangeRefused(ValueError):
    """A period or a scope the statistics cannot answer; ``reason`` is the problem's."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class Period:
    start: date  # first day, included
    end: date  # last day, included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same number of days that ends the day before this one starts."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def period(start: date, end: date) -> Period:
    if end < start:
        raise RangeRefused("invalid_range", f"to ({end}) is before from ({start})")
    p = Period(start, end)
    if p.days > MAX_DAYS:
        raise RangeRefused("range_too_long", f"a period is at most {MAX_DAYS} days, not {p.days}")
    return p


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    id: UUID | None  # None: the network


def scope(shop_id: UUID | None, merchant_id: UUID | None, association_id: UUID | None) -> Scope:
    given = [
        (kind, value)
        for kind, value in (
            ("shop", shop_id),
            ("merchant", merchant_id),
            ("association", association_id),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise RangeRefused(
            "ambiguous_scope", "give one of shop_id, merchant_id, association_id, or none"
        )
    if not given:
        return Scope("network", None)
    kind, value = given[0]
    return Scope(kind, value)  # type: ignore[arg-type]


def _ratio(numerator: int, denominator: int, scale: int) -> int | None:
    """numerator * scale / denominator rounded half up; None without a denominator."""
    if denominator <= 0:
        return None
    return (2 * numerator * scale + denominator) // (2 * denominator)


def money_figures(sums: Mapping[str, int]) -> dict[str, Any]:
    """Revenue, visits, basket, member share, returns and rewards from a period's sums."""
    s = {name: int(sums.get(name) or 0) for name in COUNTERS}
    member_revenue = s["member_sales_cents"] - s["returned_cents"]
    revenue = member_revenue + s["anonymous_sales_cents"]
    sales = s["member_sales"] + s["anonymous_sales"]
    # Unknown without a sale recorded without a member: 100 % would be a guess.
    share = _ratio(member_revenue, revenue, 10_000) if s["anonymous_sales"] else None
    return {
        "revenue_cents": revenue,
        "member_revenue_cents": member_revenue,
        "anonymous_revenue_cents": s["anonymous_sales_cents"],
        "member_share_bps": share,
        "sales": sales,
        "visits": s["member_sales"],
        "anonymous_sales": s["anonymous_sales"],
        "average_basket_cents": _ratio(
            s["member_sales_cents"] + s["anonymous_sales_cents"], sales, 1
        ),
        "returns": s["returns"],
        "returned_cents": s["returned_cents"],
        "rewards_granted_cents": s["rewards_granted_cents"],
        "redemptions": s["redemptions"],
        "rewards_spent_cents": s["rewards_spent_cents"],
    }


def traffic(cells: Sequence[tuple[int, int, int]]) -> dict[str, Any]:
    """Sales by hour (0-23, Paris) and by weekday (Monday first) from (isodow, hour, sales)."""
    by_hour = [0] * 24
    by_weekday = [0] * 7
    by_hour_of_week = [[0] * 24 for _ in range(7)]
    for dow, hour, sales in cells:
        by_hour[hour] += sales
        by_weekday[dow - 1] += sales
        by_hour_of_week[dow - 1][hour] += sales
    return {"by_hour": by_hour, "by_weekday": by_weekday, "by_hour_of_week": by_hour_of_week}


def frequency(visits: Sequence[int]) -> list[dict[str, Any]]:
    """How many customers came how many times in the period."""
    out = []
    for low, high in FREQUENCY_BUCKETS:
        n = sum(1 for v in visits if v >= low and (high is None or v <= high))
        out.append({"min_visits": low, "max_visits": high, "customers": n})
    return out


def visits_per_customer(visits: int, customers: int) -> str | None:
    """Visits per visiting customer, two decimals, as a decimal string (no float)."""
    hundredths = _ratio(visits, customers, 100)
    if hundredths is None:
        return None
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def inactive_window(end: date) -> tuple[date, date]:
    """The days a customer must have visited in (first, last) and not after ``last``, to be
    inactive at the end of a period ending ``end``."""
    last = end - timedelta(days=INACTIVE_AFTER_DAYS)
    return last - timedelta(days=INACTIVE_LOOKBACK_DAYS - 1), last


def series_step(p: Period) -> Literal["day", "month"]:
    """Enrolments over time: by day up to three months, by month beyond."""
    return "day" if p.days <= 92 else "month"


def series(p: Period, per_day: Mapping[date, int]) -> list[dict[str, Any]]:
    """Enrolments of each day (or month) of the period, zeros included."""
    step = series_step(p)
    out: dict[date, int] = {}
    d = p.start
    while d <= p.end:
        key = d if step == "day" else d.replace(day=1)
        out[key] = out.get(key, 0) + per_day.get(d, 0)
        d += timedelta(days=1)
    return [{"start": k.isoformat(), "enrolments": v} for k, v in out.items()]
