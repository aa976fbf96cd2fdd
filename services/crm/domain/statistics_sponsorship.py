"""The sponsorship results in the statistics (docs/statistics.md, "Sponsorship"): the instants
that bound a period of Paris days, and each figure from its sums. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from services.crm.domain.statistics_figures import Period
from shared.clock import PARIS

# Counted from crm's sponsorship tables (links and rewards), per period.
LINK_AND_REWARD_SUMS = (
    "newcomers",
    "sponsor_rewards",
    "sponsor_rewards_cents",
    "sponsor_rewards_capped",
    "newcomer_rewards",
    "newcomer_rewards_cents",
)
# Counted from the members' days of the scope (kept by the statistics consumer), for the
# members who have a sponsor.
SPONSORED_SUMS = ("sponsored_customers", "sponsored_visits", "sponsored_revenue_cents")


def midnight(day: Any) -> datetime:
    """The instant a Paris day starts (a summer-time change moves it, never the day)."""
    return datetime.combine(day, time(0), tzinfo=PARIS)


def instants(p: Period) -> tuple[datetime, datetime, datetime]:
    """The previous period's first instant, the period's first, and the instant after its last
    day: [first, start) is the previous period, [start, end) the period."""
    return (
        midnight(p.previous().start),
        midnight(p.start),
        midnight(p.end + timedelta(days=1)),
    )


def sponsorship_figures(
    links_and_rewards: Mapping[str, int] | None, sponsored: Mapping[str, int] | None
) -> dict[str, Any]:
    """A period's sponsorship results; the sponsored members' figures ``None`` where they are
    not kept (the network)."""
    out: dict[str, Any] = {
        name: int((links_and_rewards or {}).get(name) or 0) for name in LINK_AND_REWARD_SUMS
    }
    out["rewards_cents"] = out["sponsor_rewards_cents"] + out["newcomer_rewards_cents"]
    for name in SPONSORED_SUMS:
        out[name] = None if sponsored is None else int(sponsored.get(name) or 0)
    return out
