"""Customer status levels (issue 14, item 2), pure: a definition's terms, the level an
account's booked activity reaches, and the daily review's verdict (up at once, down only
after the grace period).

An account holds at most one level per scope (the association's levels, or one merchant's):
the highest ``rank`` whose thresholds it meets over that level's window (``min_spent_cents``
spent **or** ``min_visits`` visits, either enough). A level it no longer reaches is kept
``grace_days`` days from the first review that found it below (``below_since``), then the
account falls to what it reaches that day (a lower level, or none); reaching it again before
the end of the grace cancels the countdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from services.cards.domain.base import Refused, Row
from services.cards.domain.cards import add_months
from shared.clock import PARIS
from shared.rules.levels import Level
from shared.rules.promotions import Effect, Multiplier, RateOverride

# What a scope's activity is, per window length in months: (spent cents, visits).
Activity = Mapping[int, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Definition:
    level_id: UUID
    association_id: UUID
    merchant_id: UUID | None
    code: str
    name: str
    rank: int
    min_spent_cents: int | None
    min_visits: int | None
    window_months: int
    effect: Effect
    grace_days: int

    def qualifies(self, activity: Activity) -> bool:
        spent, visits = activity.get(self.window_months, (0, 0))
        return (self.min_spent_cents is not None and spent >= self.min_spent_cents) or (
            self.min_visits is not None and visits >= self.min_visits
        )

    def rule(self) -> Level:
        """The level as the rules engine applies it."""
        return Level(
            str(self.level_id),
            self.code,
            self.name,
            self.effect,
            str(self.merchant_id) if self.merchant_id else None,
        )


def definition_of(r: Row) -> Definition:
    effect: Effect = (
        RateOverride(r["taux_client_bps"])
        if r["taux_client_bps"] is not None
        else Multiplier(r["multiplier_numerator"], r["multiplier_denominator"])
    )
    return Definition(
        level_id=r["id"],
        association_id=r["association_id"],
        merchant_id=r["merchant_id"],
        code=r["code"],
        name=r["name"],
        rank=r["rank"],
        min_spent_cents=r["min_spent_cents"],
        min_visits=r["min_visits"],
        window_months=r["window_months"],
        effect=effect,
        grace_days=r["grace_days"],
    )


@dataclass(frozen=True, slots=True)
class Terms:
    """A level as the back office defines it."""

    merchant_id: UUID | None
    code: str
    name: str
    rank: int
    min_spent_cents: int | None
    min_visits: int | None
    window_months: int
    taux_client_bps: int | None
    multiplier: tuple[int, int] | None
    grace_days: int

    def check(self) -> None:
        if self.min_spent_cents is None and self.min_visits is None:
            raise Refused(
                422, "No threshold", "a level needs min_spent_cents or min_visits", "malformed"
            )
        if (self.taux_client_bps is None) == (self.multiplier is None):
            raise Refused(
                422, "One effect", "a level has a taux_client_bps or a multiplier", "malformed"
            )
        if self.multiplier is not None and self.multiplier[0] <= self.multiplier[1]:
            raise Refused(
                422,
                "Not a raise",
                f"x{self.multiplier[0]}/{self.multiplier[1]} would not raise the rate",
                "malformed",
            )

    def columns(self) -> dict[str, object]:
        """The terms as the ``levels`` table's columns."""
        m = self.multiplier
        return {
            "merchant_id": self.merchant_id,
            "code": self.code,
            "name": self.name,
            "rank": self.rank,
            "min_spent_cents": self.min_spent_cents,
            "min_visits": self.min_visits,
            "window_months": self.window_months,
            "taux_client_bps": self.taux_client_bps,
            "multiplier_numerator": m[0] if m else None,
            "multiplier_denominator": m[1] if m else None,
            "grace_days": self.grace_days,
        }


def window(day: date, months: int) -> tuple[datetime, datetime]:
    """The instants a review of ``day`` counts for a window of ``months`` (Paris time): from
    the start of the same day ``months`` earlier, after ``day``, to the end of ``day``."""
    end = day + timedelta(days=1)
    return (
        datetime.combine(add_months(end, -months), time(), PARIS),
        datetime.combine(end, time(), PARIS),
    )


def reached(definitions: Iterable[Definition], activity: Activity) -> Definition | None:
    """The highest level of a scope that ``activity`` qualifies for, or None."""
    best: Definition | None = None
    for d in definitions:
        if d.qualifies(activity) and (best is None or d.rank > best.rank):
            best = d
    return best


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the account holds after the review: ``level`` (None: none), ``below_since`` (a
    grace running since that day), and whether the level itself changed."""

    level: Definition | None
    below_since: date | None
    changed: bool


def review(
    held: Definition | None, below_since: date | None, best: Definition | None, day: date
) -> Verdict:
    """The review of ``day`` for an account holding ``held`` (below since ``below_since``)
    whose activity reaches ``best``: a higher level at once; a lower one (or none) only when
    the grace, counted from the first day below, has run out."""
    if held is None:
        return Verdict(best, None, best is not None)
    if best is not None and best.rank >= held.rank:
        if best.level_id == held.level_id:
            return Verdict(held, None, False)
        return Verdict(best, None, True)
    start = below_since if below_since is not None and below_since <= day else day
    if day >= start + timedelta(days=held.grace_days):
        return Verdict(best, None, True)
    return Verdict(held, start, False)
