"""The rules of a close, without a database (services/clearing/domain): which months a close
closes and what it refuses, the entries a batch books, the settlement plan, the
reconciliation's verdicts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.clearing.domain import bookings, journal, periods, reconciliation, settlements
from services.clearing.domain.bookings import Entry
from services.clearing.domain.errors import Refused
from services.clearing.domain.settlements import OPERATOR, Position

A, M, N, P = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
NOW = datetime(2026, 11, 3, 10, tzinfo=UTC)


def _refused(*args: Any) -> Refused:
    with pytest.raises(Refused) as info:
        periods.months_to_close(*args)
    return info.value


# --- periods --------------------------------------------------------------------------------


def test_a_close_closes_every_open_month_up_to_the_one_asked() -> None:
    months = periods.months_to_close(A, date(2026, 10, 1), date(2026, 7, 1), date(2026, 1, 1), NOW)
    assert months == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]
    first = periods.months_to_close(A, date(2026, 10, 1), None, date(2026, 9, 1), NOW)
    assert first == [date(2026, 9, 1), date(2026, 10, 1)]


@pytest.mark.parametrize(
    ("period", "closed", "first", "status", "reason"),
    [
        (date(2026, 9, 1), date(2026, 9, 1), date(2026, 1, 1), 409, "period_closed"),
        (date(2026, 11, 1), None, date(2026, 1, 1), 409, "period_not_over"),
        (date(2026, 10, 1), None, None, 404, None),
        (date(2025, 12, 1), None, date(2026, 1, 1), 409, "before_books_start"),
        (date(2026, 10, 1), None, date(2024, 1, 1), 409, "close_range_too_long"),
    ],
)
def test_a_close_is_refused_with_its_reason(
    period: date, closed: date | None, first: date | None, status: int, reason: str | None
) -> None:
    r = _refused(A, period, closed, first, NOW)
    assert r.status == status
    assert r.extra.get("reason") == reason


def test_a_range_too_long_says_which_month_to_close_first() -> None:
    r = _refused(A, date(2026, 10, 1), None, date(2024, 1, 1), NOW)
    assert r.extra["months"] == 34 and r.extra["first_open"] == "2024-01"
    assert "close 2025-12 first" in r.detail
    ok = periods.months_to_close(A, date(2025, 12, 1), None, date(2024, 1, 1), NOW)
    assert len(ok) == periods.MAX_CLOSE_MONTHS


def test_the_close_is_due_for_the_month_before_once_the_delay_has_passed() -> None:
    assert periods.due_period(datetime(2026, 11, 1, 12, tzinfo=UTC), 6) == date(2026, 10, 1)
    # Six hours into November in Paris, 6 hours earlier was still October: September is due.
    assert periods.due_period(datetime(2026, 11, 1, 2, tzinfo=UTC), 6) == date(2026, 9, 1)


def test_only_a_closed_period_can_be_adjusted() -> None:
    periods.adjustable(date(2026, 9, 1), date(2026, 9, 1))
    for closed in (None, date(2026, 8, 1)):
        with pytest.raises(Refused) as info:
            periods.adjustable(date(2026, 9, 1), closed)
        assert info.value.extra["reason"] == "period_open"


# --- the entries of a batch -----------------------------------------------------------------


def _sale(reference: uuid.UUID, reward: int, fee: int, kind: str = "accrual") -> Entry:
    postings = journal.accrual(A, M, reward, fee)
    return Entry(kind, reference, str(reference), NOW, A, M, NOW, postings,
                 reward_cents=reward, fee_cents=fee)  # fmt: skip


def test_a_batch_books_each_reference_once_in_a_fixed_order() -> None:
    r1, r2 = uuid.UUID(int=2), uuid.UUID(int=1)
    first, again, other = _sale(r1, 100, 10), _sale(r1, 999, 99), _sale(r2, 50, 5)
    assert bookings.to_book([first, again, other]) == [other, first]


def test_only_a_zero_record_may_have_no_postings() -> None:
    zero = _sale(uuid.uuid4(), 0, 0)
    assert zero.postings == [] and bookings.to_book([zero]) == [zero]
    lost = zero._replace(reward_cents=5)
    with pytest.raises(ValueError, match="without postings moves money"):
        bookings.to_book([lost])
    with pytest.raises(ValueError, match="unbalanced"):
        bookings.to_book([zero._replace(postings=[journal.Posting((A, "merchant", M), 1)])])


def test_an_entry_takes_its_own_month_unless_it_is_closed() -> None:
    e = _sale(uuid.uuid4(), 100, 10)._replace(occurred_at=datetime(2026, 9, 30, 23, tzinfo=UTC))
    assert bookings.in_period(e, None).period == date(2026, 10, 1)  # Paris: already October
    assert bookings.in_period(e, date(2026, 10, 1)).period == date(2026, 11, 1)
    fixed = e._replace(period=date(2026, 9, 1))
    assert bookings.in_period(fixed, date(2026, 10, 1)).period == date(2026, 9, 1)


def test_the_merchant_column_is_what_the_entry_posts_to_its_merchant() -> None:
    assert bookings.merchant_cents(_sale(uuid.uuid4(), 100, 10)) == 110
    assert bookings.party_columns((A, journal.PARTNER, P)) == (None, P)
    assert bookings.party_columns((A, journal.MERCHANT, M)) == (M, None)
    assert bookings.party_columns((A, journal.FEES, None)) == (None, None)


# --- settlements ----------------------------------------------------------------------------

FR = "FR7630006000011234567890189"
CH = "CH9300762011623852957"


def _bank(
    iban: str = FR, mandate: str | None = "RUM-1", town: str | None = "Brest"
) -> dict[str, Any]:
    return {
        "holder": "Boulangerie", "iban": iban, "bic": None, "mandate_id": mandate,
        "mandate_signed_on": date(2026, 1, 1), "creditor_id": "FR72ZZZ123456",
        "address_street": None, "address_building_number": None, "address_postcode": None,
        "address_town": town, "address_country": "FR" if town else None,
    }  # fmt: skip


def test_positions_sum_each_party_and_leave_out_those_at_zero() -> None:
    moves = [("merchant", M, 100), ("merchant", M, -40), ("merchant", N, 5), ("merchant", N, -5)]
    assert settlements.position_sums(moves) == [Position("merchant", M, 60)]
    dues = settlements.statement_dues(M, {"net_cents": 135, "fees_cents": 12})
    assert dues == [("merchant", M, 135), ("operator", OPERATOR, -12)]


def test_the_plan_collects_who_owes_pays_who_is_owed_and_holds_the_rest() -> None:
    owes, owed, no_mandate, swiss = (
        uuid.UUID(int=1),
        uuid.UUID(int=2),
        uuid.UUID(int=3),
        uuid.UUID(int=4),
    )
    positions = [
        Position("merchant", owes, 135),
        Position("merchant", owed, -150),
        Position("merchant", no_mandate, 20),
        Position("merchant", swiss, -10),
        Position("partner", P, -30),
    ]
    details = {
        ("merchant", owes): _bank(),
        ("merchant", owed): _bank(mandate=None),
        ("merchant", no_mandate): _bank(mandate=None),
        ("merchant", swiss): _bank(CH, town=None),
    }
    s = settlements.plan(uuid.uuid4(), date(2026, 10, 1), NOW, _bank(), positions, details, {})
    assert s.status == "ready"
    assert [(c.debtor.iban, c.amount_cents) for c in s.collections] == [(FR, 135)]
    assert [t.amount_cents for t in s.transfers] == [150]
    assert {(h["party_id"], h["reason"]) for h in s.held} == {
        (str(no_mandate), "no direct-debit mandate"),
        (str(swiss), "no postal address (bank outside the EEA)"),
        (str(P), "no bank details"),
    }
    assert s.direct_debit and s.credit_transfer
    entries = settlements.settlement_entries(A, date(2026, 10, 1), s, NOW)
    assert [e.amount_cents for e in entries] == [135, -150]
    assert all(journal.is_balanced(e.postings) for e in entries)


def test_without_the_associations_bank_details_everything_is_held() -> None:
    s = settlements.plan(
        uuid.uuid4(), date(2026, 10, 1), NOW, None, [Position("merchant", M, 5)], {}, {}
    )
    assert (
        s.status == "no_bank_details"
        and s.held[0]["reason"] == "the association has no bank details"
    )
    empty = settlements.plan(uuid.uuid4(), date(2026, 10, 1), NOW, None, [], {}, {})
    assert empty.status == "nothing_due"


def test_a_partner_share_is_rounded_once_on_the_sum_and_skipped_at_zero() -> None:
    rows = [
        {"merchant_id": M, "partner_id": P, "rate_bps": 250, "revenue_cents": 1_001},
        {"merchant_id": N, "partner_id": P, "rate_bps": 250, "revenue_cents": -400},
    ]
    (e,) = settlements.partner_shares(A, date(2026, 10, 1), rows, NOW)
    assert (e.kind, e.amount_cents, e.period, e.note) == (
        "partner_share",
        25,
        date(2026, 10, 1),
        "250 bps",
    )
    assert e.reference_id == settlements.ref("partner_share", M, P, date(2026, 10, 1))


# --- the reconciliation's verdicts ----------------------------------------------------------


def test_held_positions_name_each_party_whose_close_held_another_sum() -> None:
    books = reconciliation.HeldBooks(
        A, date(2026, 10, 1), {("merchant", M): 22}, {("merchant", M): 11, ("partner", P): 3}
    )
    check = reconciliation.held_positions([books])
    assert not check.ok and check.difference == 14 and check.associations == {A}
    assert len(check.detail) == 2
    same = reconciliation.HeldBooks(
        A, date(2026, 10, 1), {("merchant", M): 5}, {("merchant", M): 5}
    )
    assert reconciliation.held_positions([same]).ok


def test_a_liability_difference_names_the_association_and_its_accounts() -> None:
    accounts = reconciliation.accounts_at_fault(A, {M: (100, 0)}, {M: (90, 0), None: (0, 0)})
    assert accounts == [f"association {A}, account {M}: rewards 100 here, 90 at cards; "
                        "customer funds 0 here, 0 at cards"]  # fmt: skip
    check = reconciliation.liability({A: ((100, 0), (90, 5))}, {A: accounts})
    assert (check.ok, check.difference, check.associations) == (False, 15, {A})
    assert check.detail[1:] == accounts
    assert reconciliation.liability({}, {}).ok


def test_an_unbalanced_journal_is_named_entry_by_entry() -> None:
    fault = {"id": 7, "kind": "accrual", "reference_id": M, "association_id": A,
             "reward_cents": 5, "fee_cents": 0, "n": None, "total": None}  # fmt: skip
    check = reconciliation.balanced(0, [fault])
    assert not check.ok and check.difference == 1 and "has no postings" in check.detail[0]
    assert reconciliation.balanced(0, []).ok
    assert reconciliation.balanced(3, []).difference == 3
