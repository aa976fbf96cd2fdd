"""The catalogue's rules and the dry run, without a database: what a program, a promotion, a
card type and an acceptance may be, how they may change, and what a sale would earn."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.cards.domain import catalogue as rules
from services.cards.domain.base import Refused
from services.cards.domain.dry_run import dry_run
from services.cards.service.refusals import problem
from tests.unit.test_terminal_params import (
    BAKER,
    CAFE,
    CT_ASSOC,
    CT_B,
    CT_BAKER,
    CT_GIFT,
    OTHER,
    T0,
    TABAC,
    A,
    B,
    demo_snapshot,
)

AID, OTHER_AID, ID = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def _refused(fn: Any, *args: Any) -> Refused:
    with pytest.raises(Refused) as caught:
        fn(*args)
    return caught.value


def test_the_default_program_and_card_type_have_ids_derived_from_the_association() -> None:
    assert rules.default_ids(AID) == rules.default_ids(AID)
    assert rules.default_ids(AID) != rules.default_ids(OTHER_AID)
    assert rules.default_card_type_name("x" * 300) == ("Carte " + "x" * 300)[:200]


def test_an_issuer_prefix_left_out_is_kept_and_moving_one_is_a_change() -> None:
    old = {"issuer_prefix": "123456"}
    assert rules.issuer_prefix(None, old) == "123456"
    assert rules.issuer_prefix("654321", old) == "654321"
    assert rules.issuer_prefix(None, None) is None
    assert not rules.prefix_changes(old, "123456")
    assert rules.prefix_changes(old, "654321")
    assert not rules.prefix_changes({"issuer_prefix": None}, "654321")
    assert rules.refuse_prefix_in_use(AID, "123456").reason == "issuer_prefix_in_use"


def test_a_program_with_impossible_terms_is_a_422() -> None:
    refused = _refused(rules.program_terms, ID, "points", None, None, None, 0, 0, 0)
    assert refused.status == 422 and refused.title == "Invalid program"
    program = rules.program_terms(ID, "cagnotte", ["b", "a"], None, None, 0, 0, 0)
    assert program.families == frozenset({"a", "b"})
    assert rules.sorted_families(["b", "a", "b"]) == ["a", "b"]


def test_a_program_keeps_its_association_its_kind_and_stays_deleted() -> None:
    old = {"association_id": AID, "status": "active", "kind": "cagnotte"}
    rules.check_program_update(old, AID, ID, "cagnotte")
    assert _refused(rules.check_program_update, old, OTHER_AID, ID, "cagnotte").status == 409
    assert (
        "kind cannot change" in _refused(rules.check_program_update, old, AID, ID, "points").title
    )
    deleted = old | {"status": "deleted"}
    assert _refused(rules.check_program_update, deleted, AID, ID, "cagnotte").title == (
        "Program deleted"
    )


def test_a_promotion_has_exactly_one_effect() -> None:
    start, end = T0, T0 + timedelta(days=1)
    both = _refused(rules.promotion_terms, ID, start, end, 100, (2, 1), None, None)
    none = _refused(rules.promotion_terms, ID, start, end, None, None, None, None)
    assert both.detail == none.detail and both.status == 422
    assert rules.promotion_terms(ID, start, end, None, (2, 1), None, None).effect is not None
    backwards = _refused(rules.promotion_terms, ID, end, start, 100, None, None, None)
    assert backwards.title == "Invalid promotion"


def test_a_withdrawn_promotion_is_not_revived() -> None:
    old = {"association_id": AID, "withdrawn_at": T0}
    refused = _refused(rules.check_promotion_update, old, AID, ID)
    assert refused.title == "Promotion withdrawn" and T0.isoformat() in refused.detail


@pytest.mark.parametrize(
    ("kind", "program", "merchant", "ok"),
    [
        ("association", ID, None, True),
        ("association", None, None, False),
        ("gift", None, None, True),
        ("gift", ID, None, False),
        ("merchant", ID, ID, True),
        ("merchant", ID, None, False),
        ("generic", ID, ID, False),
    ],
)
def test_earning_cards_have_a_program_money_cards_none_merchant_cards_a_merchant(
    kind: str, program: uuid.UUID | None, merchant: uuid.UUID | None, ok: bool
) -> None:
    if ok:
        rules.check_card_type_terms(kind, program, merchant)
    else:
        assert _refused(rules.check_card_type_terms, kind, program, merchant).status == 422


def test_the_default_card_type_stays_an_earning_one() -> None:
    association = {"default_card_type_id": ID}
    rules.check_default_stays_earning(association, AID, ID, "generic")
    assert _refused(rules.check_default_stays_earning, association, AID, ID, "gift").status == 409
    rules.check_default_stays_earning(association, AID, uuid.uuid4(), "gift")


def test_where_a_card_type_is_accepted_without_an_acceptance() -> None:
    merchant = {"id": ID, "association_id": AID}
    own = {"id": CT_ASSOC, "kind": "association", "association_id": AID, "merchant_id": None}
    foreign = own | {"association_id": OTHER_AID}
    personal = own | {"kind": "merchant", "merchant_id": ID}
    assert rules.accepted_without_acceptance(own, merchant) is True
    assert rules.accepted_without_acceptance(foreign, merchant) is None
    assert rules.accepted_without_acceptance(personal, merchant) is True
    assert rules.accepted_without_acceptance(personal | {"merchant_id": AID}, merchant) is False
    assert _refused(rules.check_acceptance, personal, OTHER_AID).title == "Merchant card"
    assert _refused(rules.check_acceptance, own, AID).title == "Own association"
    rules.check_acceptance(own, OTHER_AID)


def test_a_refusal_becomes_the_problem_it_names_with_its_reason() -> None:
    titled = problem(Refused(409, "Own association", "d"))
    assert titled.status == 409 and titled.extra["reason"] == "own_association"
    reasoned = problem(Refused(422, "Voucher expired", "d", "voucher_expired", expires_at="x"))
    assert reasoned.extra == {"reason": "voucher_expired", "expires_at": "x"}


# --- the dry run -------------------------------------------------------------------------------

AT = T0 + timedelta(days=15)


def test_the_dry_run_explains_the_reward_and_the_visit_threshold() -> None:
    run = dry_run(demo_snapshot(), A, None, BAKER, "bread", 10_000, 1, AT)
    assert run.card_type_id == CT_ASSOC and run.rules_version == 7
    assert run.evaluation.reward_cents > 0
    assert run.explanation.startswith("A sale of ")
    assert "held pending until the customer's visit number 3 within 30 days" in run.explanation


def test_the_dry_run_of_tobacco_earns_nothing_and_says_why() -> None:
    run = dry_run(demo_snapshot(), A, None, TABAC, "cigarettes", 1_000, 1, AT)
    assert run.evaluation.refused and "earns nothing because" in run.explanation


@pytest.mark.parametrize(
    ("association", "card_type", "merchant", "status", "title"),
    [
        (uuid.UUID(int=1), None, BAKER, 404, "Unknown association"),
        (A, uuid.UUID(int=2), BAKER, 404, "Unknown card type"),
        (A, CT_B, CAFE, 409, "Card type of another association"),
        (A, CT_ASSOC, uuid.UUID(int=3), 404, "Unknown merchant"),
        (A, CT_ASSOC, OTHER, 422, "Card type not accepted"),
        (A, CT_BAKER, CAFE, 422, "Card type not accepted"),
        (A, CT_GIFT, BAKER, 422, "Card type earns nothing"),
    ],
)
def test_the_dry_run_refuses_what_no_sale_could_be(
    association: uuid.UUID,
    card_type: uuid.UUID | None,
    merchant: uuid.UUID,
    status: int,
    title: str,
) -> None:
    with pytest.raises(Refused) as caught:
        dry_run(demo_snapshot(), association, card_type, merchant, None, 1_000, 1, AT)
    assert (caught.value.status, caught.value.title) == (status, title)


def test_the_dry_run_of_another_associations_card_is_made_there() -> None:
    run = dry_run(demo_snapshot(), B, None, CAFE, "coffee", 2_000, 1, AT)
    assert run.card_type_id == CT_B and run.merchant_id == CAFE


def test_dates_of_the_fixture_are_aware() -> None:
    assert AT.tzinfo is UTC and date(2026, 3, 16) == AT.date()
    assert datetime(2026, 3, 1, tzinfo=UTC) == T0
