"""A personal promotion (one account's, crm's birthday offer): given with the sale, combined
with the rule book's by the same rule, within the law and the caps, and named by its reason so
the statement's rate column says why the rate was doubled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook, Sale
from shared.rules.programs import Program, ProgramKind
from shared.rules.promotions import Multiplier, Promotion, RateOverride

AT = datetime(2026, 12, 20, 15, 0, tzinfo=UTC)
START, END = datetime(2026, 12, 20, tzinfo=UTC), datetime(2026, 12, 23, tzinfo=UTC)
SHOP = Merchant.with_families(
    "shop",
    [
        ProductFamily("menu", 800),
        ProductFamily("novels", 400, book=True),
        ProductFamily("cigarettes", tobacco=True),
    ],
    taux_client_bps=300,
)
BAKERY = Merchant("bakery")
NETWORK = NetworkRates(CalculationMode.FAMILY, 300, 50)


def book(*promotions: Promotion, program: Program | None = None) -> RuleBook:
    return RuleBook(NETWORK, [SHOP, BAKERY], program or Program("p"), promotions)


def birthday(
    factor: int = 2, merchant_id: str | None = None, starts: datetime = START
) -> Promotion:
    return Promotion(
        "b-1", starts, END, Multiplier(factor), merchant_id=merchant_id, reason="birthday"
    )


def test_the_birthday_offer_doubles_the_customers_rate_and_says_so() -> None:
    rules = book()
    ev = rules.evaluate(Sale("bakery", None, 1000, AT), [birthday()])
    assert (ev.reward_cents, ev.taux_client_bps) == (60, 600)
    assert ev.rate_source == "promotion.birthday"
    assert [s.rule for s in ev.steps] == ["rate.network", "promotion.birthday"]
    assert "birthday offer" in ev.steps[-1].detail
    # the same sale without the account's promotion: the normal rate
    plain = rules.evaluate(Sale("bakery", None, 1000, AT))
    assert (plain.reward_cents, plain.rate_source) == (30, "rate.network")


@pytest.mark.parametrize(
    ("at", "reward"),
    [
        (START - timedelta(microseconds=1), 30),
        (START, 60),
        (END - timedelta(microseconds=1), 60),
        (END, 30),  # after its N days: the normal rate
    ],
)
def test_only_inside_its_days(at: datetime, reward: int) -> None:
    assert book().evaluate(Sale("bakery", None, 1000, at), [birthday()]).reward_cents == reward


def test_it_multiplies_with_the_catalogues_promotions_after_the_best_override() -> None:
    rules = book(
        Promotion("o", START, END, RateOverride(500)),
        Promotion("x", START, END, Multiplier(3, 2), merchant_id="bakery"),
    )
    ev = rules.evaluate(Sale("bakery", None, 1000, AT), [birthday()])
    # 500 bp × 3/2 × 2 = 1500 bp: one rounding of the product, the birthday's step last
    assert (ev.taux_client_bps, ev.reward_cents) == (1500, 150)
    assert [s.rule for s in ev.steps][-2:] == ["promotion.multiplier", "promotion.birthday"]
    assert ev.rate_source == "promotion.birthday"


def test_within_the_law_and_the_caps() -> None:
    rules = book()
    # books: 400 × 2 = 800 bp capped at 500 bp by law
    novels = rules.evaluate(Sale("shop", "novels", 2000, AT), [birthday()])
    assert (novels.taux_client_bps, novels.reward_cents) == (500, 100)
    assert novels.rate_source == "legal.book_cap"
    # tobacco: nothing, whatever the offer
    smoke = rules.evaluate(Sale("shop", "cigarettes", 2000, AT), [birthday()])
    assert smoke.refused and smoke.reward_cents == 0
    # 800 bp × 20 is above 100 %: capped
    menu = rules.evaluate(Sale("shop", "menu", 1000, AT), [birthday(20)])
    assert (menu.taux_client_bps, menu.rate_source) == (10_000, "rate.max")


def test_a_merchants_birthday_offer_stays_at_that_merchant() -> None:
    rules = book()
    offer = [birthday(merchant_id="shop")]
    assert rules.evaluate(Sale("shop", "menu", 1000, AT), offer).reward_cents == 160
    assert rules.evaluate(Sale("bakery", None, 1000, AT), offer).reward_cents == 30


def test_points_are_doubled_too_without_a_rate_source() -> None:
    points = Program(
        "pts", ProgramKind.POINTS, points_per_euro=1, units_per_reward=100, reward_cents=500
    )
    ev = book(program=points).evaluate(Sale("bakery", None, 1000, AT), [birthday()])
    assert ev.points == 20 and ev.rate_source is None


def test_a_personal_promotion_has_a_known_reason() -> None:
    with pytest.raises(ValueError, match="no personal reason"):
        Promotion("p", START, END, Multiplier(2), reason="whim")


def test_every_rate_source_has_its_words_on_the_statement() -> None:
    from services.clearing.domain.statement_lines import RATE_SOURCES as WORDS
    from shared.rules.engine import RATE_SOURCES

    assert WORDS.keys() >= RATE_SOURCES
    assert WORDS["promotion.birthday"] == "offre anniversaire du client"
