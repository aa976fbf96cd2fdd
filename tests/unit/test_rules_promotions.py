"""Promotions: who they apply to, when, and how several combine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook, Sale
from shared.rules.programs import Program, ProgramKind
from shared.rules.promotions import Multiplier, Promotion, RateOverride

AT = datetime(2026, 12, 20, 15, 0, tzinfo=UTC)
START, END = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 25, tzinfo=UTC)
FLORIST = Merchant.with_families(
    "florist", [ProductFamily("bouquets"), ProductFamily("plants")], taux_client_bps=400
)
BAKERY = Merchant("bakery")
NETWORK = NetworkRates(CalculationMode.MERCHANT, 300, 50)


def rules(*promotions: Promotion, program: Program | None = None) -> RuleBook:
    return RuleBook(NETWORK, [FLORIST, BAKERY], program or Program("p"), promotions)


def promo(pid: str, effect: RateOverride | Multiplier, **kw: object) -> Promotion:
    return Promotion(pid, START, END, effect, **kw)  # type: ignore[arg-type]


def test_a_network_override_raises_every_merchants_rate() -> None:
    book = rules(promo("xmas", RateOverride(600)))
    # 3990 × 600 / 10 000 = 239.4 → 239 (base 400 bp would give 159.6 → 160).
    result = book.evaluate(Sale("florist", "bouquets", 3990, AT))
    assert (result.reward_cents, result.taux_client_bps) == (239, 600)
    assert [s.rule for s in result.steps] == ["rate.merchant", "promotion.override"]
    assert book.evaluate(Sale("bakery", None, 1000, AT)).reward_cents == 60


def test_a_merchants_own_promotion_does_not_reach_other_merchants() -> None:
    book = rules(promo("opening", Multiplier(2), merchant_id="florist"))
    # 1000 × (400 × 2) / 10 000 = 80.
    assert book.evaluate(Sale("florist", "plants", 1000, AT)).reward_cents == 80
    assert book.evaluate(Sale("bakery", None, 1000, AT)).reward_cents == 30


def test_a_promotion_on_some_families_leaves_the_others_alone() -> None:
    book = rules(promo("mothers-day", Multiplier(2), families=frozenset({"bouquets"})))
    assert book.evaluate(Sale("florist", "bouquets", 1000, AT)).reward_cents == 80
    assert book.evaluate(Sale("florist", "plants", 1000, AT)).reward_cents == 40


@pytest.mark.parametrize(
    ("at", "reward"),
    [
        (START - timedelta(microseconds=1), 40),
        (START, 80),  # starts_at included
        (END - timedelta(microseconds=1), 80),
        (END, 40),  # ends_at excluded
    ],
)
def test_a_promotion_applies_only_inside_its_period(at: datetime, reward: int) -> None:
    book = rules(promo("x2", Multiplier(2)))
    result = book.evaluate(Sale("florist", "plants", 1000, at))
    assert result.reward_cents == reward
    if reward == 40:
        assert [(s.rule, s.applied) for s in result.steps][-1] == ("promotion.period", False)


def test_the_best_override_wins_and_the_others_are_reported_skipped() -> None:
    book = rules(
        promo("a", RateOverride(500)),
        promo("b", RateOverride(700), merchant_id="florist"),
        promo("c", RateOverride(350)),  # below the base 400 bp: never lowers a rate
    )
    result = book.evaluate(Sale("florist", "plants", 1000, AT))
    assert (result.reward_cents, result.taux_client_bps) == (70, 700)
    overrides = [(s.detail.split(":")[0], s.applied) for s in result.steps[1:]]
    assert overrides == [
        ("promotion a", False),
        ("promotion b (merchant florist)", True),
        ("promotion c", False),
    ]


def test_overrides_of_equal_rate_go_to_the_smaller_id_whatever_their_order() -> None:
    first = rules(promo("b", RateOverride(600)), promo("a", RateOverride(600)))
    applied = [s.detail for s in first.evaluate(Sale("bakery", None, 1000, AT)).steps if s.applied]
    assert applied[-1].startswith("promotion a")


def test_multipliers_multiply_together_after_the_best_override() -> None:
    book = rules(
        promo("o", RateOverride(500)),
        promo("x2", Multiplier(2)),
        promo("x3/2", Multiplier(3, 2)),
    )
    # 500 bp × 2 × 3/2 = 1500 bp; 999 × 1500 / 10 000 = 149.85 → 150.
    result = book.evaluate(Sale("florist", "plants", 999, AT))
    assert (result.taux_client_bps, result.reward_cents) == (1500, 150)


def test_a_multiplied_rate_is_rounded_half_up_to_the_bp() -> None:
    # 125 bp × 3/2 = 187.5 → 188 bp; 10 000 × 188 / 10 000 = 188.
    book = RuleBook(
        NetworkRates(CalculationMode.NETWORK, 125, 0),
        [BAKERY],
        Program("p"),
        [promo("m", Multiplier(3, 2))],
    )
    assert book.evaluate(Sale("bakery", None, 10_000, AT)).reward_cents == 188


def test_a_multiplied_rate_never_goes_above_100_percent() -> None:
    book = rules(promo("o", RateOverride(8000)), promo("x2", Multiplier(2)))
    result = book.evaluate(Sale("bakery", None, 1234, AT))
    assert (result.taux_client_bps, result.reward_cents) == (10_000, 1234)
    assert result.steps[-1].rule == "rate.max"


def test_double_points_doubles_the_points() -> None:
    points = Program(
        "pts", ProgramKind.POINTS, points_per_euro=1, units_per_reward=100, reward_cents=500
    )
    book = rules(promo("x2", Multiplier(2)), promo("o", RateOverride(900)), program=points)
    result = book.evaluate(Sale("florist", "plants", 2550, AT))
    # 25.50 € × 1 point × 2 = 51 points; the override (a taux client) does not apply to points.
    assert result.points == 51
    skipped = [s for s in result.steps if s.rule == "promotion.override"]
    assert len(skipped) == 1 and not skipped[0].applied


def test_double_stamps_doubles_the_stamps() -> None:
    stamps = Program("st", ProgramKind.STAMPS, units_per_reward=10, reward_cents=300)
    book = rules(promo("x2", Multiplier(2)), program=stamps)
    assert book.evaluate(Sale("bakery", None, 480, AT, quantity=3)).stamps == 6


def test_a_promotion_must_end_after_it_starts_and_have_aware_dates() -> None:
    with pytest.raises(ValueError, match="after starts_at"):
        Promotion("p", END, START, Multiplier(2))
    with pytest.raises(ValueError, match="time-zone aware"):
        Promotion("p", datetime(2026, 1, 1), END, Multiplier(2))


def test_promotion_ids_are_unique_in_a_rulebook() -> None:
    with pytest.raises(ValueError, match="unique"):
        rules(promo("a", Multiplier(2)), promo("a", Multiplier(3)))
