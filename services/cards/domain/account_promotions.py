"""An account's own promotions (issue 13, item 4: crm's birthday offer, a rate multiplied for
N days), pure: the terms a grant may have, a retry told from another grant under the same id,
and the rows as the rules engine's personal promotions (``shared.rules.promotions``), given
with that account's sales only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from services.cards.domain.base import Refused, Row
from shared.rules.promotions import Multiplier, Promotion

# A birthday offer lasts days, not seasons.
MAX_DAYS = 366
COLUMNS = (
    "account_id",
    "merchant_id",
    "reason",
    "starts_at",
    "ends_at",
    "multiplier_numerator",
    "multiplier_denominator",
)


def check_terms(starts_at: datetime, ends_at: datetime, multiplier: tuple[int, int]) -> None:
    if ends_at <= starts_at:
        raise Refused(422, "Empty period", "ends_at must be after starts_at", reason="malformed")
    if ends_at - starts_at > timedelta(days=MAX_DAYS):
        raise Refused(
            422, "Too long", f"a personal promotion lasts {MAX_DAYS} days at most", "malformed"
        )
    numerator, denominator = multiplier
    if numerator <= denominator:
        raise Refused(
            422,
            "Not a raise",
            f"x{numerator}/{denominator} would not raise the customer's rate",
            reason="malformed",
        )


def check_same(row: Row, terms: tuple[object, ...]) -> None:
    """The same id again with the same terms is a retry; with others, a mistake."""
    if tuple(row[c] for c in COLUMNS) != terms:
        raise Refused(
            409,
            "Id already used",
            f"personal promotion {row['id']} exists with other terms; choose a new id",
            reason="id_reused",
        )


def promotion_of(r: Row) -> Promotion:
    return Promotion(
        promotion_id=str(r["id"]),
        starts_at=r["starts_at"],
        ends_at=r["ends_at"],
        effect=Multiplier(r["multiplier_numerator"], r["multiplier_denominator"]),
        merchant_id=str(r["merchant_id"]) if r["merchant_id"] else None,
        reason=r["reason"],
    )


def by_account(rows: Iterable[Row]) -> dict[UUID, tuple[Promotion, ...]]:
    out: dict[UUID, list[Promotion]] = defaultdict(list)
    for r in rows:
        out[r["account_id"]].append(promotion_of(r))
    return {a: tuple(p) for a, p in out.items()}
