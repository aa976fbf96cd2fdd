"""Invariants of the rules, for any network, program, promotions and sale (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook, Sale
from shared.rules.legal import BOOK_CAP_BPS
from shared.rules.money import apply_rate
from shared.rules.programs import Program, ProgramKind
from shared.rules.promotions import Multiplier, Promotion, RateOverride
from shared.rules.rates import AssociationRates, MerchantRates, RateMode, reward_for
from shared.rules.visit_threshold import VisitCounters, VisitThreshold, apply_purchase

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCT_FAMILY_CODES = ["a", "b", "c", "d"]
rates = st.integers(0, 10_000)
maybe_rates = st.none() | rates
moments = st.integers(0, 365 * 24).map(lambda h: T0 + timedelta(hours=h))

families = st.builds(
    ProductFamily,
    st.sampled_from(PRODUCT_FAMILY_CODES),
    maybe_rates,
    tobacco=st.booleans(),
    gambling=st.booleans(),
    book=st.booleans(),
)
merchants = st.builds(
    lambda fams, client, uc: Merchant.with_families("m", fams, client, uc),
    st.lists(families, max_size=4, unique_by=lambda f: f.code),
    maybe_rates,
    maybe_rates,
)
effects = st.builds(RateOverride, rates) | st.builds(
    Multiplier, st.integers(0, 5), st.integers(1, 4)
)


@st.composite
def promotions(draw: st.DrawFn) -> list[Promotion]:
    result = []
    for i in range(draw(st.integers(0, 4))):
        start = draw(moments)
        result.append(
            Promotion(
                f"p{i}",
                start,
                start + timedelta(hours=draw(st.integers(1, 24 * 60))),
                draw(effects),
                merchant_id=draw(st.sampled_from([None, "m", "other"])),
                families=draw(st.none() | st.frozensets(st.sampled_from(PRODUCT_FAMILY_CODES))),
            )
        )
    return result


programs = st.sampled_from(
    [
        Program("cagnotte"),
        Program(
            "pts", ProgramKind.POINTS, points_per_euro=3, units_per_reward=100, reward_cents=150
        ),
        Program("st", ProgramKind.STAMPS, units_per_reward=8, reward_cents=400),
    ]
)
networks = st.builds(NetworkRates, st.sampled_from(list(CalculationMode)), rates, rates)
sales = st.builds(
    Sale,
    st.just("m"),
    st.none() | st.sampled_from([*PRODUCT_FAMILY_CODES, "zz"]),
    st.integers(0, 1_000_000),
    moments,
    st.integers(0, 20),
)


@settings(max_examples=300, deadline=None)
@given(networks, merchants, programs, promotions(), sales)
def test_a_reward_is_never_negative_and_within_the_legal_limits(
    network: NetworkRates,
    merchant: Merchant,
    program: Program,
    promos: list[Promotion],
    sale: Sale,
) -> None:
    result = RuleBook(network, [merchant], program, promos).evaluate(sale)
    assert min(result.reward_cents, result.points, result.stamps, result.fee_cents) >= 0
    assert result.reward_cents <= sale.amount_cents  # never above 100 %
    family = merchant.families.get(sale.product_family) if sale.product_family else None
    if family is not None and (family.tobacco or family.gambling):
        assert (result.reward_cents, result.points, result.stamps) == (0, 0, 0)
        assert result.refusals[0].code in {"legal_tobacco", "legal_gambling", "out_of_scope"}
    if family is not None and family.book:
        cap_cents_x10000 = sale.amount_cents * BOOK_CAP_BPS
        assert result.reward_cents <= apply_rate(sale.amount_cents, BOOK_CAP_BPS)
        if program.kind is not ProgramKind.CAGNOTTE:
            units = result.points + result.stamps
            value_x10000 = units * program.reward_cents * 10_000
            assert value_x10000 <= cap_cents_x10000 * program.units_per_reward
    # Whatever was reduced or refused says so.
    if result.refused:
        assert result.refusals


@settings(max_examples=200, deadline=None)
@given(networks, merchants, promotions(), sales)
def test_promotions_change_nothing_outside_their_period(
    network: NetworkRates, merchant: Merchant, promos: list[Promotion], sale: Sale
) -> None:
    live = [p for p in promos if p.starts_at <= sale.at < p.ends_at]
    with_all = RuleBook(network, [merchant], Program("c"), promos).evaluate(sale)
    only_live = RuleBook(network, [merchant], Program("c"), live).evaluate(sale)
    assert with_all.reward_cents == only_live.reward_cents
    assert with_all.taux_client_bps == only_live.taux_client_bps


@settings(max_examples=200, deadline=None)
@given(networks, merchants, promotions(), sales)
def test_a_promotion_never_lowers_a_reward(
    network: NetworkRates, merchant: Merchant, promos: list[Promotion], sale: Sale
) -> None:
    promos = [
        p
        for p in promos
        if not isinstance(p.effect, Multiplier) or p.effect.numerator >= p.effect.denominator
    ]
    with_promos = RuleBook(network, [merchant], Program("c"), promos).evaluate(sale)
    without = RuleBook(network, [merchant], Program("c")).evaluate(sale)
    assert with_promos.reward_cents >= without.reward_cents


@given(
    st.sampled_from(list(RateMode)),
    rates,
    rates,
    maybe_rates,
    maybe_rates,
    st.integers(0, 10_000_000),
)
def test_the_engine_gives_what_reward_for_gives_in_the_server_modes(
    mode: RateMode, a_client: int, a_uc: int, m_client: int | None, m_uc: int | None, amount: int
) -> None:
    book = RuleBook(
        NetworkRates(CalculationMode(mode.value), a_client, a_uc),
        [Merchant("m", m_client, m_uc)],
        Program("c"),
    )
    expected = reward_for(
        amount, AssociationRates(mode, a_client, a_uc), MerchantRates(m_client, m_uc)
    )
    assert book.evaluate(Sale("m", None, amount, T0)).as_reward() == expected


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 6),
    st.none() | st.integers(1, 60).map(lambda d: timedelta(days=d)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40 * 24)), max_size=30),
)
def test_the_threshold_moves_money_without_creating_or_losing_any(
    n: int, max_period: timedelta | None, purchases: list[tuple[int, int]]
) -> None:
    policy = VisitThreshold(n, max_period)
    counters, at = VisitCounters(), T0
    earned = transferred = expired = 0
    for reward, hours_later in purchases:
        at += timedelta(hours=hours_later)
        outcome = apply_purchase(counters, reward, at, policy)
        before = counters.pending_cents + counters.available_cents + reward
        after = outcome.counters.pending_cents + outcome.counters.available_cents
        assert before == after + outcome.expired_cents
        assert (
            outcome.counters.available_cents - counters.available_cents == outcome.transferred_cents
        )
        assert 0 <= outcome.counters.visits < n
        assert (
            min(outcome.counters.pending_cents, outcome.transferred_cents, outcome.expired_cents)
            >= 0
        )
        counters = outcome.counters
        earned += reward
        transferred += outcome.transferred_cents
        expired += outcome.expired_cents
    assert earned == counters.pending_cents + transferred + expired
    assert counters.available_cents == transferred
