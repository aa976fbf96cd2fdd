from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.rules.money import apply_rate, format_eur
from shared.rules.phone import InvalidPhone, normalise
from shared.rules.rates import AssociationRates, MerchantRates, RateMode, reward_for


@pytest.mark.parametrize(
    ("amount", "bps", "expected"),
    [
        (2460, 250, 62),  # 61.5 → 62: half goes up
        (1234, 250, 31),  # 30.85 → 31
        (1219, 250, 30),  # 30.475 → 30
        (1220, 250, 31),  # 30.5 → 31
        (2460, 500, 123),
        (2460, 50, 12),  # 12.3 → 12
        (1, 4999, 0),  # 0.4999 → 0
        (1, 5000, 1),  # 0.5 → 1
        (0, 300, 0),
        (10_000_000, 10_000, 10_000_000),
    ],
)
def test_a_rate_is_rounded_half_up_to_the_cent(amount: int, bps: int, expected: int) -> None:
    assert apply_rate(amount, bps) == expected


@given(st.integers(0, 10_000_000), st.integers(0, 10_000))
def test_rounding_matches_decimal_half_up(amount: int, bps: int) -> None:
    exact = Decimal(amount) * Decimal(bps) / Decimal(10_000)
    assert apply_rate(amount, bps) == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(st.integers(0, 10_000_000), st.integers(0, 10_000))
def test_a_reward_is_never_negative_nor_above_the_purchase(amount: int, bps: int) -> None:
    assert 0 <= apply_rate(amount, bps) <= amount


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        apply_rate(-1, 100)


NETWORK = AssociationRates(RateMode.NETWORK, taux_client_bps=300, taux_uc_bps=50)
PER_MERCHANT = AssociationRates(RateMode.MERCHANT, taux_client_bps=300, taux_uc_bps=50)


def test_network_mode_ignores_the_merchants_own_rate() -> None:
    r = reward_for(10_000, NETWORK, MerchantRates(taux_client_bps=500, taux_uc_bps=None))
    assert (r.reward_cents, r.fee_cents, r.taux_client_bps, r.taux_uc_bps) == (300, 50, 300, 50)


def test_merchant_mode_uses_the_merchants_rate_and_falls_back_to_the_network_rate() -> None:
    restaurant = reward_for(10_000, PER_MERCHANT, MerchantRates(500, None))
    bakery = reward_for(10_000, PER_MERCHANT, MerchantRates(None, None))
    assert (restaurant.reward_cents, bakery.reward_cents) == (500, 300)


def test_a_merchants_own_fee_overrides_the_network_fee_in_both_modes() -> None:
    assert reward_for(10_000, NETWORK, MerchantRates(None, 80)).fee_cents == 80
    assert reward_for(10_000, PER_MERCHANT, MerchantRates(None, 80)).fee_cents == 80


def test_the_statement_example_of_the_documents() -> None:
    # 2460.00 € of purchases at 2.5 % / 0.5 %: 61.50 € of cagnottage and 12.30 € of fees.
    rates = AssociationRates(RateMode.NETWORK, 250, 50)
    r = reward_for(246_000, rates, MerchantRates(None, None))
    assert (r.reward_cents, r.fee_cents) == (6150, 1230)
    assert format_eur(r.reward_cents) == "61.50 €"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_one_phone_number_has_one_spelling(raw: str, e164: str) -> None:
    assert normalise(raw) == e164


@pytest.mark.parametrize("raw", ["", "12", "06 12 34", "hello", "+0612345678", "06123456789012345"])
def test_what_is_not_a_phone_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise(raw)
