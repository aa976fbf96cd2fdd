"""The terminal's rules are the server's: parameters built from the cards service's snapshot,
sent as JSON and compiled on the terminal evaluate every sale exactly as the server does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.cards.domain import CardState, is_dormant
from services.cards.domain.rulebooks import Snapshot, from_snapshot
from shared.rules.accounts import AccountState, credit_sale
from shared.rules.engine import Sale
from shared.rules.params import TerminalParameters, compile, is_dormant_on

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"comptoir:test/{name}")


A, B = _id("assoc/a"), _id("assoc/b")
BAKER, BOOKS_, TABAC, CAFE, OTHER = (
    _id(f"m/{n}") for n in ("baker", "books", "tabac", "cafe", "b1")
)
P_CAGNOTTE, P_POINTS, P_STAMPS, P_B = (_id(f"p/{n}") for n in ("c", "pts", "st", "b"))
CT_ASSOC, CT_POINTS, CT_BAKER, CT_GIFT, CT_B = (
    _id(f"ct/{n}") for n in ("assoc", "points", "baker", "gift", "b")
)


def _program(pid: uuid.UUID, kind: str, **kw: Any) -> dict[str, Any]:
    row = {
        "id": pid,
        "kind": kind,
        "families": None,
        "valid_from": None,
        "valid_until": None,
        "status": "active",
        "points_per_euro": 0,
        "units_per_reward": 0,
        "reward_cents": 0,
        "visit_threshold": 1,
        "visit_threshold_max_days": None,
    }
    return row | kw


def _card_type(
    ct: uuid.UUID, assoc: uuid.UUID, kind: str, program: uuid.UUID | None, **kw: Any
) -> dict[str, Any]:
    row = {
        "id": ct,
        "association_id": assoc,
        "kind": kind,
        "program_id": program,
        "taux_client_bps": None,
        "taux_uc_bps": None,
        "merchant_id": None,
        "validity_months": 24,
    }
    return row | kw


def _family(m: uuid.UUID, code: str, rate: int | None = None, **flags: bool) -> dict[str, Any]:
    return {
        "merchant_id": m,
        "code": code,
        "taux_client_bps": rate,
        "tobacco": flags.get("tobacco", False),
        "gambling": flags.get("gambling", False),
        "book": flags.get("book", False),
    }


def _promotion(
    name: str, assoc: uuid.UUID, merchant: uuid.UUID | None, days: tuple[int, int], **kw: Any
) -> dict[str, Any]:
    row = {
        "id": _id(f"promo/{name}"),
        "association_id": assoc,
        "merchant_id": merchant,
        "families": None,
        "starts_at": T0 + timedelta(days=days[0]),
        "ends_at": T0 + timedelta(days=days[1]),
        "taux_client_bps": None,
        "multiplier_numerator": None,
        "multiplier_denominator": None,
    }
    return row | kw


def demo_snapshot(version: int = 7) -> Snapshot:
    """A demo-like network: an association with rates per merchant, its card with a visit
    threshold, a points card with its own rates at one merchant, a merchant's card, a gift card,
    a card of another association accepted at one merchant, families with legal flags, and
    promotions of every kind."""
    rows: dict[str, list[Any]] = {
        "associations": [
            {
                "id": A,
                "rate_mode": "merchant",
                "taux_client_bps": 300,
                "taux_uc_bps": 50,
                "default_card_type_id": CT_ASSOC,
            },
            {
                "id": B,
                "rate_mode": "family",
                "taux_client_bps": 200,
                "taux_uc_bps": 40,
                "default_card_type_id": CT_B,
            },
        ],
        "merchants": [
            {"id": BAKER, "association_id": A, "taux_client_bps": 500, "taux_uc_bps": None},
            {"id": BOOKS_, "association_id": A, "taux_client_bps": 800, "taux_uc_bps": 70},
            {"id": TABAC, "association_id": A, "taux_client_bps": None, "taux_uc_bps": None},
            {"id": CAFE, "association_id": A, "taux_client_bps": 250, "taux_uc_bps": 30},
            {"id": OTHER, "association_id": B, "taux_client_bps": 150, "taux_uc_bps": None},
        ],
        "programs": [
            _program(P_CAGNOTTE, "cagnotte", visit_threshold=3, visit_threshold_max_days=30),
            _program(
                P_POINTS,
                "points",
                points_per_euro=2,
                units_per_reward=100,
                reward_cents=500,
                families=["bread", "novel", "coffee"],
            ),
            _program(
                P_STAMPS,
                "stamps",
                units_per_reward=10,
                reward_cents=300,
                valid_from=T0,
                valid_until=T0 + timedelta(days=60),
            ),
            _program(P_B, "cagnotte"),
        ],
        "card_types": [
            _card_type(CT_ASSOC, A, "association", P_CAGNOTTE),
            _card_type(CT_POINTS, A, "generic", P_POINTS, taux_uc_bps=60),
            _card_type(CT_BAKER, A, "merchant", P_STAMPS, merchant_id=BAKER),
            _card_type(CT_GIFT, A, "gift", None),
            _card_type(CT_B, B, "association", P_B),
        ],
        "families": [
            _family(BAKER, "bread", 600),
            _family(BAKER, "cake"),
            _family(BOOKS_, "novel", 1200, book=True),
            _family(BOOKS_, "press", 100),
            _family(TABAC, "cigarettes", tobacco=True),
            _family(TABAC, "lotto", gambling=True),
            _family(TABAC, "coffee", 400),
            _family(CAFE, "coffee", 900),
        ],
        "type_rates": [
            {
                "card_type_id": CT_POINTS,
                "merchant_id": CAFE,
                "taux_client_bps": 700,
                "taux_uc_bps": None,
            },
            {
                "card_type_id": CT_ASSOC,
                "merchant_id": BOOKS_,
                "taux_client_bps": None,
                "taux_uc_bps": 90,
            },
        ],
        "acceptances": [
            {"card_type_id": CT_B, "association_id": A, "merchant_id": CAFE},
        ],
        "promotions": [
            _promotion(
                "double", A, None, (0, 20), multiplier_numerator=2, multiplier_denominator=1
            ),
            _promotion("baker-override", A, BAKER, (5, 40), taux_client_bps=1000),
            _promotion(
                "cafe-coffee",
                A,
                CAFE,
                (10, 30),
                families=["coffee"],
                multiplier_numerator=3,
                multiplier_denominator=2,
            ),
            _promotion("books-override", A, BOOKS_, (0, 90), taux_client_bps=2000),
            _promotion("b-wide", B, None, (0, 90), taux_client_bps=900),
            _promotion(
                "other-only", B, OTHER, (0, 90), multiplier_numerator=5, multiplier_denominator=1
            ),
        ],
    }
    return Snapshot(version, rows)


MERCHANTS = [BAKER, BOOKS_, TABAC, CAFE, OTHER]
FAMILIES = [None, "bread", "cake", "novel", "press", "cigarettes", "lotto", "coffee", "unknown"]


def test_parameters_round_trip_through_json() -> None:
    snap = demo_snapshot()
    for m in MERCHANTS:
        params = from_snapshot(snap, m)
        again = TerminalParameters.from_json(params.to_json())
        assert again == params
        assert params.rules_version == 7 and params.merchant_id == m


def test_a_merchant_gets_exactly_the_card_types_it_accepts() -> None:
    snap = demo_snapshot()
    at = {m: {c.card_type_id for c in from_snapshot(snap, m).card_types} for m in MERCHANTS}
    assert at[BAKER] == {CT_ASSOC, CT_POINTS, CT_BAKER, CT_GIFT}
    assert at[CAFE] == {CT_ASSOC, CT_POINTS, CT_GIFT, CT_B}
    assert at[OTHER] == {CT_B}
    gift = next(c for c in from_snapshot(snap, BAKER).card_types if c.card_type_id == CT_GIFT)
    assert gift.program is None and compile(from_snapshot(snap, BAKER))[CT_GIFT].book is None


def test_only_the_promotions_that_can_apply_here_are_sent() -> None:
    params = from_snapshot(demo_snapshot(), CAFE)
    by_type = {c.card_type_id: {p.promotion_id for p in c.promotions} for c in params.card_types}
    assert by_type[CT_ASSOC] == {str(_id("promo/double")), str(_id("promo/cafe-coffee"))}
    assert by_type[CT_B] == {str(_id("promo/b-wide")), str(_id("promo/cafe-coffee"))}


sales = st.tuples(
    st.sampled_from(MERCHANTS),
    st.sampled_from(FAMILIES),
    st.integers(1, 500_000),
    st.integers(-5 * 24, 100 * 24).map(lambda h: T0 + timedelta(hours=h)),
    st.integers(1, 30),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(sales, min_size=1, max_size=8))
def test_the_terminal_computes_the_servers_reward_for_every_sale(
    batch: list[tuple[uuid.UUID, str | None, int, datetime, int]],
) -> None:
    snap = demo_snapshot()
    compiled = {
        m: compile(TerminalParameters.from_json(from_snapshot(snap, m).to_json()))
        for m in MERCHANTS
    }
    states: dict[tuple[uuid.UUID, uuid.UUID], tuple[AccountState, AccountState]] = {}
    for merchant, family, amount, at, quantity in sorted(batch, key=lambda s: s[3]):
        for ct, terminal in compiled[merchant].items():
            server = snap.rules(ct)
            assert server is not None and merchant in server.accepted_at
            assert terminal.visit_threshold == server.visit_threshold
            assert terminal.program == server.program
            if server.book is None:
                assert terminal.book is None
                continue
            assert terminal.book is not None
            sale = Sale(str(merchant), family, amount, at, quantity)
            mine, theirs = terminal.book.evaluate(sale), server.book.evaluate(sale)
            assert (mine.reward_cents, mine.points, mine.stamps, mine.fee_cents) == (
                theirs.reward_cents,
                theirs.points,
                theirs.stamps,
                theirs.fee_cents,
            )
            assert (mine.taux_client_bps, mine.taux_uc_bps, mine.refusals) == (
                theirs.taux_client_bps,
                theirs.taux_uc_bps,
                theirs.refusals,
            )
            # And what the sale does to the card is what it does to the account.
            card, account = states.get((merchant, ct), (AccountState(), AccountState()))
            assert terminal.program is not None and server.program is not None
            c = credit_sale(card, mine, terminal.program, terminal.visit_threshold, at)
            s = credit_sale(account, theirs, server.program, server.visit_threshold, at)
            assert c == s
            states[(merchant, ct)] = (c.state, s.state)


def test_a_card_type_accepted_nowhere_near_is_not_sent() -> None:
    params = from_snapshot(demo_snapshot(), TABAC)
    assert CT_B not in {c.card_type_id for c in params.card_types}


def test_the_dormancy_period_travels_in_the_parameters_and_judges_as_the_server() -> None:
    params = from_snapshot(demo_snapshot(), BAKER).model_copy(update={"dormant_after_days": 183})
    again = TerminalParameters.from_json(params.to_json())
    assert again.dormant_after_days == 183
    assert (
        TerminalParameters.from_json(
            {k: v for k, v in params.to_json().items() if k != "dormant_after_days"}
        ).dormant_after_days
        is None
    )  # a document from before: no dormancy known
    today = T0.date()
    for idle in (0, 1, 182, 183, 184, 400):
        last = today - timedelta(days=idle)
        server = is_dormant(
            CardState("9000000000000001", "active", None, T0 - timedelta(days=idle), T0),
            T0,
            183,
        )
        assert is_dormant_on(last, today, 183) == server == (idle >= 183)
    assert not is_dormant_on(None, today, 183)  # never used offline: the card cannot tell
    assert not is_dormant_on(today - timedelta(days=900), today, None)
