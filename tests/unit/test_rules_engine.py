"""Calculation modes, programs (kinds, scope, validity, life cycle) and the explanation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook, Sale, evaluate
from shared.rules.programs import (
    Program,
    ProgramKind,
    ProgramStatus,
    ProgramTransitionRefused,
    delete,
    resume,
    suspend,
)
from shared.rules.rates import AssociationRates, MerchantRates, RateMode, reward_for

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CAGNOTTE = Program("p", ProgramKind.CAGNOTTE)
BISTROT = Merchant.with_families(
    "bistrot",
    [ProductFamily("lunch", taux_client_bps=800), ProductFamily("dinner")],
    taux_client_bps=500,
    taux_uc_bps=75,
)
BAKERY = Merchant.with_families("bakery", [ProductFamily("bread", taux_client_bps=200)])


def book(mode: CalculationMode = CalculationMode.FAMILY, program: Program = CAGNOTTE) -> RuleBook:
    return RuleBook(NetworkRates(mode, 300, 50), [BISTROT, BAKERY], program)


def sale(merchant: str, family: str | None, cents: int, quantity: int = 1) -> Sale:
    return Sale(merchant, family, cents, AT, quantity)


@pytest.mark.parametrize(
    ("mode", "merchant", "family", "reward", "rate", "rule"),
    [
        # network: 300 bp everywhere. 2460 × 300 / 10 000 = 73.8 → 74.
        (CalculationMode.NETWORK, "bistrot", "lunch", 74, 300, "rate.network"),
        # merchant: the bistrot's 500 bp. 2460 × 500 / 10 000 = 123.
        (CalculationMode.MERCHANT, "bistrot", "lunch", 123, 500, "rate.merchant"),
        # family: lunch at 800 bp. 2460 × 800 / 10 000 = 196.8 → 197.
        (CalculationMode.FAMILY, "bistrot", "lunch", 197, 800, "rate.family"),
        # family without its own rate → the merchant's 500 bp → 123.
        (CalculationMode.FAMILY, "bistrot", "dinner", 123, 500, "rate.merchant"),
        # bakery has no own rate: bread 200 bp in mode family (49.2 → 49)...
        (CalculationMode.FAMILY, "bakery", "bread", 49, 200, "rate.family"),
        # ...and the network's 300 bp in mode merchant (73.8 → 74).
        (CalculationMode.MERCHANT, "bakery", "bread", 74, 300, "rate.network"),
    ],
)
def test_each_calculation_mode_picks_its_rate_and_says_which(
    mode: CalculationMode, merchant: str, family: str, reward: int, rate: int, rule: str
) -> None:
    result = book(mode).evaluate(sale(merchant, family, 2460))
    assert (result.reward_cents, result.taux_client_bps) == (reward, rate)
    assert [s.rule for s in result.steps] == [rule]
    assert result.refusals == ()


def test_the_fee_is_the_merchants_taux_uc_else_the_networks() -> None:
    # bistrot 75 bp: 2460 × 75 / 10 000 = 18.45 → 18; bakery network 50 bp: 12.3 → 12.
    assert book().evaluate(sale("bistrot", "lunch", 2460)).fee_cents == 18
    assert book().evaluate(sale("bakery", "bread", 2460)).fee_cents == 12


@pytest.mark.parametrize("mode", [RateMode.NETWORK, RateMode.MERCHANT])
@pytest.mark.parametrize("merchant", [BISTROT, BAKERY])
def test_the_engine_agrees_with_reward_for_in_the_two_server_modes(
    mode: RateMode, merchant: Merchant
) -> None:
    rules = RuleBook(NetworkRates(CalculationMode(mode.value), 300, 50), [merchant], CAGNOTTE)
    expected = reward_for(
        1234,
        AssociationRates(mode, 300, 50),
        MerchantRates(merchant.taux_client_bps, merchant.taux_uc_bps),
    )
    assert rules.evaluate(sale(merchant.merchant_id, None, 1234)).as_reward() == expected


def test_an_unknown_merchant_is_refused_with_a_reason() -> None:
    result = evaluate(sale("nobody", "lunch", 2460), book())
    assert result.refused
    assert [r.code for r in result.refusals] == ["unknown_merchant"]


def test_a_family_missing_from_the_catalogue_earns_the_merchant_rate_and_says_so() -> None:
    result = book().evaluate(sale("bistrot", "brunch", 2460))
    assert (result.reward_cents, result.taux_client_bps) == (123, 500)
    assert result.steps[0].rule == "family.unknown"
    assert not result.steps[0].applied


def test_a_suspended_program_earns_nothing_then_earns_again_once_resumed() -> None:
    suspended = suspend(CAGNOTTE)
    result = book(program=suspended).evaluate(sale("bistrot", "lunch", 2460))
    assert result.refused and result.refusals[0].code == "program_suspended"
    assert result.fee_cents == 18  # the fee is charged as today, whatever the reward
    assert (
        book(program=resume(suspended)).evaluate(sale("bistrot", "lunch", 2460)).reward_cents == 197
    )


def test_a_deleted_program_earns_nothing() -> None:
    result = book(program=delete(CAGNOTTE)).evaluate(sale("bistrot", "lunch", 2460))
    assert result.refusals[0].code == "program_deleted"


@pytest.mark.parametrize(
    ("transition", "status"),
    [
        (resume, ProgramStatus.ACTIVE),
        (suspend, ProgramStatus.SUSPENDED),
        (suspend, ProgramStatus.DELETED),
        (resume, ProgramStatus.DELETED),
        (delete, ProgramStatus.DELETED),
    ],
)
def test_an_invalid_program_transition_is_refused(
    transition: object, status: ProgramStatus
) -> None:
    program = Program("p", status=status)
    with pytest.raises(ProgramTransitionRefused, match="program p"):
        transition(program)  # type: ignore[operator]


def test_a_suspended_program_can_be_deleted() -> None:
    assert delete(suspend(CAGNOTTE)).status is ProgramStatus.DELETED


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (AT - timedelta(seconds=1), "program_not_started"),
        (AT + timedelta(days=30), "program_ended"),  # valid_until is excluded
    ],
)
def test_a_program_earns_only_within_its_validity_period(at: datetime, code: str) -> None:
    program = Program("p", valid_from=AT, valid_until=AT + timedelta(days=30))
    rules = book(program=program)
    assert rules.evaluate(Sale("bistrot", "lunch", 2460, AT)).reward_cents == 197
    assert rules.evaluate(Sale("bistrot", "lunch", 2460, at)).refusals[0].code == code


def test_a_program_scoped_to_some_families_refuses_the_others() -> None:
    rules = book(program=Program("p", families=frozenset({"lunch"})))
    assert rules.evaluate(sale("bistrot", "lunch", 2460)).reward_cents == 197
    dinner = rules.evaluate(sale("bistrot", "dinner", 2460))
    assert dinner.refused and dinner.refusals[0].code == "out_of_scope"
    assert rules.evaluate(sale("bistrot", None, 2460)).refusals[0].code == "out_of_scope"


def test_a_points_program_earns_points_per_euro_rounded_half_up() -> None:
    program = Program(
        "pts", ProgramKind.POINTS, points_per_euro=2, units_per_reward=100, reward_cents=500
    )
    result = book(program=program).evaluate(sale("bistrot", "lunch", 2475))
    # 24.75 € × 2 = 49.5 points → 50.
    assert (result.points, result.reward_cents, result.stamps) == (50, 0, 0)


def test_a_stamps_program_earns_one_stamp_per_item() -> None:
    program = Program("st", ProgramKind.STAMPS, units_per_reward=10, reward_cents=300)
    result = book(program=program).evaluate(sale("bakery", "bread", 480, quantity=3))
    assert (result.stamps, result.points, result.reward_cents) == (3, 0, 0)


def test_points_and_stamps_convert_to_whole_rewards_keeping_the_rest() -> None:
    stamps = Program("st", ProgramKind.STAMPS, units_per_reward=10, reward_cents=300)
    # 23 stamps on a 10-stamp card: 2 rewards of 3.00 €, 3 stamps left.
    conversion = stamps.convert(23)
    assert (conversion.rewards, conversion.reward_cents, conversion.units_left) == (2, 600, 3)
    with pytest.raises(ValueError, match="nothing to convert"):
        CAGNOTTE.convert(10)


def test_a_points_program_without_a_conversion_is_rejected() -> None:
    with pytest.raises(ValueError, match="units_per_reward"):
        Program("pts", ProgramKind.POINTS, points_per_euro=1)


def test_rates_outside_0_to_100_percent_are_rejected() -> None:
    with pytest.raises(ValueError, match="0 to 10000 bp"):
        ProductFamily("x", taux_client_bps=10_001)


def test_a_sale_with_a_naive_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        book().evaluate(Sale("bistrot", "lunch", 100, datetime(2026, 1, 1)))
