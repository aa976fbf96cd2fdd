"""The statistics API's models: the query (a scope and a period) and the figures answered
(their definitions: docs/statistics.md)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# The figures exported down to their detail lines, and what each file holds.
EXPORTS = {
    "sales": "each sale (member or not), return and cancelled sale: revenue, visits, basket, "
    "member share, traffic",
    "rewards": "each reward granted (a sale), taken back (a return, a cancellation) or spent",
    "customers": "each member who visited: visits and spending (frequency, best customers)",
    "inactive": "each inactive customer and their last visit",
    "enrolments": "each account opened",
    "consents": "each consent in force (at the time of the export), by channel",
    "sponsorship": "each newcomer linked to a sponsor, each sponsorship reward decided",
    "sponsored": "each member with a sponsor who visited: visits and spending",
}


class StatisticsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: date = Field(alias="from", description="the period's first day (Paris), included")
    to: date = Field(description="the period's last day (Paris), included")
    shop_id: UUID | None = Field(default=None, description="one shop")
    merchant_id: UUID | None = Field(default=None, description="one merchant's shops")
    association_id: UUID | None = Field(
        default=None, description="one association; none of the three: the network"
    )


class PeriodOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    days: int


class ScopeOut(BaseModel):
    kind: Literal["shop", "merchant", "association", "network"]
    id: UUID | None


class Traffic(BaseModel):
    by_hour: list[int] = Field(description="sales of each hour of the day, 0 to 23 (Paris)")
    by_weekday: list[int] = Field(description="sales of each weekday, Monday first")
    by_hour_of_week: list[list[int]] = Field(description="[weekday][hour], Monday first")


class Bucket(BaseModel):
    min_visits: int
    max_visits: int | None
    customers: int


class BestCustomer(BaseModel):
    account_id: UUID
    visits: int
    spent_cents: int


class Step(BaseModel):
    start: date
    enrolments: int


class SponsorshipFigures(BaseModel):
    """Sponsorship results (docs/statistics.md, "Sponsorship")."""

    newcomers: int = Field(description="newcomers linked to a sponsor in the period")
    sponsor_rewards: int
    sponsor_rewards_cents: int
    sponsor_rewards_capped: int = Field(description="sponsor rewards not granted: cap reached")
    newcomer_rewards: int
    newcomer_rewards_cents: int
    rewards_cents: int = Field(description="sponsors' and newcomers' rewards granted")
    sponsored_customers: int | None = Field(
        description="members with a sponsor who visited; null for the network (not kept)"
    )
    sponsored_visits: int | None
    sponsored_revenue_cents: int | None = Field(
        description="members with a sponsor: sales - returns (cancelled sales are none)"
    )


class Figures(BaseModel):
    """A period's figures; null where a figure is unknown or not kept for the scope."""

    revenue_cents: int
    member_revenue_cents: int
    anonymous_revenue_cents: int
    member_share_bps: int | None = Field(
        description="members' share of the revenue; null (unknown) without a sale recorded "
        "without a member in the period"
    )
    sales: int
    visits: int
    anonymous_sales: int
    average_basket_cents: int | None
    returns: int
    returned_cents: int
    rewards_granted_cents: int
    redemptions: int
    rewards_spent_cents: int
    traffic: Traffic
    customers: int | None
    visits_per_customer: str | None = Field(description='two decimals, e.g. "1.50"')
    frequency: list[Bucket] | None
    best_customers: list[BestCustomer] | None
    enrolments: int
    sponsorship: SponsorshipFigures


class CurrentFigures(Figures):
    members: int
    members_at_start: int
    enrolments_over_time: list[Step]
    enrolments_step: Literal["day", "month"]
    inactive_customers: int | None
    consents: dict[str, int] | None = Field(description="in force now, per channel")


class StatisticsOut(BaseModel):
    scope: ScopeOut
    period: PeriodOut
    previous_period: PeriodOut
    figures: CurrentFigures
    previous: Figures
