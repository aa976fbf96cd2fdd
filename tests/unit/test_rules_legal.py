"""Legal limits of F10: refused with a reason, never silently."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook, Sale
from shared.rules.programs import Program, ProgramKind
from shared.rules.promotions import Multiplier, Promotion, RateOverride

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
KIOSK = Merchant.with_families(
    "kiosk",
    [
        ProductFamily("cigarettes", tobacco=True),
        ProductFamily("lotto", gambling=True),
        ProductFamily("novels", taux_client_bps=800, book=True),
        ProductFamily("comics", taux_client_bps=300, book=True),
        ProductFamily("press"),
    ],
    taux_client_bps=600,
)
NETWORK = NetworkRates(CalculationMode.FAMILY, 300, 50)


def rules(program: Program | None = None, *promotions: Promotion) -> RuleBook:
    return RuleBook(NETWORK, [KIOSK], program or Program("p"), promotions)


@pytest.mark.parametrize(
    ("family", "code"), [("cigarettes", "legal_tobacco"), ("lotto", "legal_gambling")]
)
def test_tobacco_and_gambling_earn_nothing_and_say_why(family: str, code: str) -> None:
    result = rules().evaluate(Sale("kiosk", family, 1000, AT))
    assert result.refused
    assert (result.reward_cents, result.refusals[0].code) == (0, code)
    assert "by law" in result.refusals[0].detail
    assert result.steps[-1].rule == f"legal.{code.removeprefix('legal_')}"


def test_no_promotion_lifts_the_ban_on_tobacco() -> None:
    promo = Promotion("x", AT.replace(day=1), AT.replace(day=30), RateOverride(2000))
    assert rules(None, promo).evaluate(Sale("kiosk", "cigarettes", 1000, AT)).reward_cents == 0


def test_tobacco_earns_no_points_nor_stamps() -> None:
    points = Program(
        "pts", ProgramKind.POINTS, points_per_euro=5, units_per_reward=100, reward_cents=100
    )
    stamps = Program("st", ProgramKind.STAMPS, units_per_reward=10, reward_cents=100)
    assert rules(points).evaluate(Sale("kiosk", "cigarettes", 1000, AT)).points == 0
    assert rules(stamps).evaluate(Sale("kiosk", "lotto", 1000, AT, 4)).stamps == 0


def test_books_are_capped_at_5_percent_with_the_capped_amount_in_the_reason() -> None:
    result = rules().evaluate(Sale("kiosk", "novels", 2290, AT))
    # 800 bp would give 2290 × 800 / 10 000 = 183.2 → 183; capped at 500 bp: 114.5 → 115.
    assert (result.reward_cents, result.taux_client_bps) == (115, 500)
    assert [r.code for r in result.refusals] == ["legal_book_cap"]
    assert "1.83 € → 1.15 €" in result.refusals[0].detail
    assert not result.refused  # part of the reward is still granted


def test_a_book_below_the_cap_is_not_refused_but_the_check_is_shown() -> None:
    result = rules().evaluate(Sale("kiosk", "comics", 1000, AT))
    assert (result.reward_cents, result.refusals) == (30, ())
    assert (result.steps[-1].rule, result.steps[-1].applied) == ("legal.book_cap", False)


def test_a_promotion_on_books_is_capped_too() -> None:
    promo = Promotion("x3", AT.replace(day=1), AT.replace(day=30), Multiplier(3))
    # comics 300 bp × 3 = 900 bp → capped at 500 bp: 1000 × 500 / 10 000 = 50.
    result = rules(None, promo).evaluate(Sale("kiosk", "comics", 1000, AT))
    assert (result.reward_cents, result.refusals[0].code) == (50, "legal_book_cap")


def test_book_points_are_capped_at_5_percent_of_the_price_in_value() -> None:
    # 10 points per euro, 100 points = 1.00 €: a 20.00 € book would earn 200 points = 2.00 €
    # (10 %); 5 % is 1.00 € = 100 points.
    points = Program(
        "pts", ProgramKind.POINTS, points_per_euro=10, units_per_reward=100, reward_cents=100
    )
    result = rules(points).evaluate(Sale("kiosk", "novels", 2000, AT))
    assert (result.points, result.refusals[0].code) == (100, "legal_book_cap")


def test_book_stamps_are_capped_at_5_percent_of_the_price_in_value() -> None:
    # 10 stamps = 5.00 €, so one stamp is worth 0.50 €; 5 % of 12.00 € is 0.60 €: 1 stamp, not 3.
    stamps = Program("st", ProgramKind.STAMPS, units_per_reward=10, reward_cents=500)
    result = rules(stamps).evaluate(Sale("kiosk", "novels", 1200, AT, quantity=3))
    assert (result.stamps, result.refusals[0].code) == (1, "legal_book_cap")
