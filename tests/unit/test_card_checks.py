"""The server's checks of what chip cards did offline: certificates, clones, the balance chain
by ATC (whatever order the terminals synced in), gaps in ATCs, rewards against the rules."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from services.cards.domain.card_checks import (
    CardFacts,
    Link,
    card_findings,
    certified,
    check_card,
    check_reward,
    digest,
)
from shared.card.crypto import (
    DEV_MASTERS,
    verify_certificate,
)
from shared.contracts import CardTransaction
from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates
from shared.rules.engine import RuleBook
from shared.rules.programs import Program, ProgramKind
from tests.cardtx import T0, SimCard

MASTER = DEV_MASTERS["cert"]


TERMINAL = uuid.uuid4()


def _link(tx: CardTransaction, terminal: uuid.UUID = TERMINAL) -> Link:
    return Link.of(tx, digest(certified(tx, terminal), tx))


def test_a_genuine_certificate_verifies_and_any_change_breaks_it() -> None:
    card = SimCard("9000000000000001")
    tx = card.sale(TERMINAL, 1, 2000, 60)
    cert = bytes.fromhex(tx.certificate)
    assert verify_certificate(MASTER, certified(tx, TERMINAL), cert)
    richer = tx.model_copy(update={"available_after": tx.available_after + 1000})
    assert not verify_certificate(MASTER, certified(richer, TERMINAL), cert)
    assert not verify_certificate(MASTER, certified(tx, uuid.uuid4()), cert)
    assert not verify_certificate(bytes(16), certified(tx, TERMINAL), cert)


def test_a_chain_in_any_order_is_whole() -> None:
    card = SimCard("9000000000000002")
    txs = [
        card.sale(TERMINAL, 1, 1000, 30),
        card.redeem(TERMINAL, 2, 20),
        card.sale(TERMINAL, 3, 500, 15),
    ]
    # Synced in reverse, one at a time: each meets its neighbours on the other side.
    known: dict[int, Link] = {}
    for tx in reversed(txs):
        verdict = check_card(known, [(0, _link(tx))], gap_alert=50)
        assert verdict.verdicts == {0: "new"} and verdict.findings == []
        known[tx.atc] = _link(tx)


def test_a_broken_chain_is_found_from_either_neighbour() -> None:
    card = SimCard("9000000000000003")
    first = card.sale(TERMINAL, 1, 1000, 30)
    card.available += 500  # money from nowhere between ATC 1 and 2
    second = card.sale(TERMINAL, 2, 1000, 30)
    for known_tx, new_tx in ((first, second), (second, first)):
        verdict = check_card({known_tx.atc: _link(known_tx)}, [(0, _link(new_tx))], 50)
        assert [f.kind for _, f in verdict.findings] == ["broken_chain"]
        assert verdict.verdicts == {0: "new"}  # booked all the same: the card holds it
    both = check_card({}, [(0, _link(second)), (1, _link(first))], 50)
    assert [(i, f.kind) for i, f in both.findings] == [(0, "broken_chain")]


def test_the_same_atc_again_is_a_resend_or_a_clone() -> None:
    card = SimCard("9000000000000004")
    card.sale(TERMINAL, 1, 1000, 30)
    clone = card.copy()
    mine = card.sale(TERMINAL, 2, 1000, 30)
    other_terminal = uuid.uuid4()
    theirs = clone.sale(other_terminal, 7, 4000, 120)
    assert mine.atc == theirs.atc
    known = {mine.atc: _link(mine)}
    assert check_card(known, [(0, _link(mine))], 50).verdicts == {0: "duplicate"}
    verdict = check_card(known, [(0, _link(theirs, other_terminal))], 50)
    assert verdict.verdicts == {0: "clone"}
    assert [f.kind for _, f in verdict.findings] == ["clone"]
    # Both in one batch: the first wins, the second is the clone.
    verdict = check_card({}, [(0, _link(mine)), (1, _link(theirs, other_terminal))], 50)
    assert verdict.verdicts == {0: "new", 1: "clone"}


def test_a_jump_in_atc_beyond_the_alert_is_reported() -> None:
    card = SimCard("9000000000000005")
    first = card.sale(TERMINAL, 1, 1000, 30)
    card.atc += 60  # 60 transactions never synced
    far = card.sale(TERMINAL, 2, 1000, 30)
    verdict = check_card({first.atc: _link(first)}, [(0, _link(far))], 50)
    assert [f.kind for _, f in verdict.findings] == ["atc_gap"]
    near = check_card({first.atc: _link(first)}, [(0, _link(far))], 100)
    assert near.findings == []


MERCHANT = uuid.UUID(int=1)


def test_a_reward_is_checked_against_the_rules() -> None:
    network = NetworkRates(CalculationMode.MERCHANT, 300, 50)
    program = Program("p")
    book = RuleBook(network, [Merchant(str(MERCHANT), 500)], program)
    card = SimCard("9000000000000006")
    right = card.sale(TERMINAL, 1, 2000, 100)  # 5 % of 20 €
    check = check_reward(book, program, MERCHANT, True, right)
    assert check.problem is None and check.fee_cents == 10
    wrong = card.sale(TERMINAL, 2, 2000, 400)
    assert "400" in (check_reward(book, program, MERCHANT, True, wrong).problem or "")
    assert check_reward(book, program, MERCHANT, False, right).problem is not None
    spend = card.redeem(TERMINAL, 3, 100)
    assert check_reward(book, program, MERCHANT, True, spend).problem is None


def test_points_are_checked_with_their_conversion() -> None:
    network = NetworkRates(CalculationMode.MERCHANT, 300, 50)
    program = Program(
        "p", ProgramKind.POINTS, points_per_euro=1, units_per_reward=50, reward_cents=200
    )
    book = RuleBook(network, [Merchant(str(MERCHANT))], program)
    card = SimCard("9000000000000007", units=30)
    # 25 € → 25 points: 55, one reward of 2 € and 5 points left.
    tx = card.certify(
        TERMINAL, 1, "sale", 2500, (200, 0, -25), T0 + timedelta(hours=1), reward_cents=200
    )
    assert tx.units_after == 5
    assert check_reward(book, program, MERCHANT, True, tx).problem is None


# --- the card and the date (quarantine reasons) -------------------------------------------

ASSOCIATION = uuid.uuid4()


def _facts(**change: object) -> CardFacts:
    base = CardFacts(
        association_id=ASSOCIATION,
        status="active",
        status_changed_at=T0 - timedelta(days=30),
        expires_on=None,
        last_used_at=T0 - timedelta(days=3),
        issued_at=T0 - timedelta(days=30),
        dormant_after_days=183,
    )
    return replace(base, **change)  # type: ignore[arg-type]


def _kinds(facts: CardFacts, tx: CardTransaction, **kw: object) -> list[str]:
    args: dict[str, object] = {
        "association_id": ASSOCIATION,
        "accepted": True,
        "now": T0 + timedelta(minutes=1),
        "books_start": T0 - timedelta(days=40),
    } | kw
    return [k for k, _ in card_findings(facts, tx, **args)]  # type: ignore[arg-type]


def test_an_honest_transaction_of_an_accepted_card_has_no_finding() -> None:
    tx = SimCard("9000000000000001").sale(TERMINAL, 1, 2000, 60, T0)
    assert _kinds(_facts(), tx) == []


def test_a_card_of_another_association_or_not_accepted_here_is_held() -> None:
    tx = SimCard("9000000000000001", available=1000).redeem(TERMINAL, 1, 100, T0)
    assert _kinds(_facts(association_id=uuid.uuid4()), tx) == ["card_of_another_association"]
    assert _kinds(_facts(), tx, accepted=False) == ["card_not_accepted"]


def test_a_card_blocked_before_the_transaction_is_held_not_one_blocked_after() -> None:
    tx = SimCard("9000000000000001").sale(TERMINAL, 1, 2000, 60, T0)
    blocked_before = _facts(status="stolen", status_changed_at=T0 - timedelta(seconds=1))
    blocked_after = _facts(status="stolen", status_changed_at=T0 + timedelta(seconds=1))
    assert _kinds(blocked_before, tx) == ["card_blocked"]
    assert _kinds(blocked_after, tx) == []


def test_an_expired_or_dormant_card_is_held() -> None:
    tx = SimCard("9000000000000001").sale(TERMINAL, 1, 2000, 60, T0)
    assert _kinds(_facts(expires_on=(T0 - timedelta(days=1)).date()), tx) == ["card_expired"]
    idle = _facts(last_used_at=T0 - timedelta(days=183))
    assert _kinds(idle, tx) == ["card_dormant"]
    assert _kinds(_facts(last_used_at=T0 - timedelta(days=182)), tx) == []


def test_dates_out_of_reason_are_held_with_their_reason() -> None:
    card = SimCard("9000000000000001")
    ahead = card.sale(TERMINAL, 1, 2000, 60, T0 + timedelta(minutes=10))
    assert _kinds(_facts(), ahead) == ["occurred_in_future"]
    old = card.sale(TERMINAL, 2, 2000, 60, T0 - timedelta(days=46))
    assert _kinds(_facts(issued_at=T0 - timedelta(days=60), last_used_at=None), old) == [
        "occurred_too_long_ago"
    ]
    early = card.sale(TERMINAL, 3, 2000, 60, T0 - timedelta(days=2))
    assert _kinds(_facts(), early, books_start=T0 - timedelta(days=1)) == [
        "occurred_before_books_start"
    ]


def test_a_time_without_offset_cannot_be_checked() -> None:
    # A CardTransaction refuses a naive time itself (shared.contracts.Instant, issue 11).
    with pytest.raises(ValueError):
        SimCard("9000000000000001").sale(TERMINAL, 1, 2000, 60, T0.replace(tzinfo=None))
    # A line that slipped through anyway is not judged by guess: the offline booking holds it.
    tx = SimCard("9000000000000002").sale(TERMINAL, 1, 2000, 60, T0)
    tx = tx.model_copy(update={"occurred_at": T0.replace(tzinfo=None)})
    with pytest.raises(ValueError, match="offset"):
        card_findings(_facts(), tx, ASSOCIATION, True, T0, None)


def test_a_certificate_made_with_the_development_key_fails_under_a_production_key() -> None:
    tx = SimCard("9000000000000001").sale(TERMINAL, 1, 2000, 60, T0)
    production = bytes.fromhex("5a" * 16)
    cert = bytes.fromhex(tx.certificate)
    assert verify_certificate(MASTER, certified(tx, TERMINAL), cert)
    assert not verify_certificate(production, certified(tx, TERMINAL), cert)


def test_a_card_sale_transfers_what_reached_available_only_with_a_threshold() -> None:
    from services.cards.domain.card_checks import threshold_transfer

    terminal = uuid.uuid4()
    # no threshold: the reward straight to available, nothing transferred (as online)
    plain = SimCard("9990420000000001").sale(terminal, 1, 2000, 60, T0)
    assert threshold_transfer(plain, 1) == 0
    # threshold of two: pending at the first visit, all of it moved at the second
    card = SimCard("9990420000000002")
    first = card.certify(terminal, 1, "sale", 2000, (0, 60, 0), T0, reward_cents=60)
    second = card.certify(terminal, 2, "sale", 3000, (150, -60, 0), T0, reward_cents=90)
    assert (threshold_transfer(first, 2), threshold_transfer(second, 2)) == (0, 150)
    # the threshold lowered to one visit with rewards still pending: they move with this one
    assert threshold_transfer(second, 1) == 150
