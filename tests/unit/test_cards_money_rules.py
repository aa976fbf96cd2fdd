"""The money operations' rules without a database: vouchers, loads, retries with the same id,
donations to partners, the customer file's text and report, and which partner registration
counts."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.cards.domain import import_report
from services.cards.domain import money as rules
from services.cards.domain.base import Refused
from services.cards.domain.customer_import import Customer, Rejected, Report
from services.cards.domain.partners import newest
from shared.contracts import PartnerRegistered
from shared.events import new_event
from shared.rules.dates import DateWindow

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
AID, OTHER, ID = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def _refused(fn: Any, *args: Any) -> Refused:
    with pytest.raises(Refused) as caught:
        fn(*args)
    return caught.value


def test_a_voucher_has_one_cagnotte_reference_derived_from_its_code() -> None:
    assert rules.voucher_reference("ABCD") == rules.voucher_reference("ABCD")
    assert rules.voucher_reference("ABCD") != rules.voucher_reference("ABCE")


def test_a_batch_counts_what_is_outstanding_and_its_value() -> None:
    counts = rules.BatchCounts(issued=10, validated=3, expired=2, value_cents=500)
    assert counts.outstanding == 5
    assert (counts.value_validated_cents, counts.value_outstanding_cents) == (1500, 2500)


def test_a_batch_id_again_with_other_terms_is_refused() -> None:
    batch = {
        "association_id": AID,
        "reason": "birthday",
        "value_cents": 500,
        "expires_at": NOW,
        "size": 10,
    }
    rules.check_same_batch(batch, ID, AID, ("birthday", 500, NOW, 10))
    refused = _refused(rules.check_same_batch, batch, ID, AID, ("birthday", 500, NOW, 11))
    assert (refused.status, refused.reason) == (409, "id_reused")
    assert _refused(rules.check_expiry_ahead, NOW, NOW).status == 422


def test_a_blocked_card_moves_no_money_and_says_why() -> None:
    refused = _refused(rules.check_not_blocked, {"status": "stolen", "number": "1234"})
    assert (refused.status, refused.reason) == (409, "card_stolen")
    rules.check_not_blocked({"status": "active", "number": "1234"})


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ({"type_kind": "association", "status": "active", "expires_on": None}, "no_stored_value"),
        ({"type_kind": "gift", "status": "lost", "expires_on": None}, "card_lost"),
        (
            {"type_kind": "gift", "status": "active", "expires_on": date(2026, 6, 14)},
            "card_expired",
        ),
        ({"type_kind": "epurse", "status": "active", "expires_on": date(2026, 6, 15)}, None),
    ],
)
def test_only_a_live_money_card_is_loaded(card: dict[str, Any], reason: str | None) -> None:
    card = card | {"number": "1234"}
    if reason is None:
        rules.check_loadable(card, "1234", NOW)
    else:
        assert _refused(rules.check_loadable, card, "1234", NOW).reason == reason


def test_money_changes_hands_at_a_merchant_of_the_association() -> None:
    merchant = {"name": "Boulangerie", "association_id": AID}
    assert rules.check_merchant(merchant, ID, AID) == "Boulangerie"
    assert _refused(rules.check_merchant, None, ID, AID).reason == "unknown_merchant"
    refused = _refused(rules.check_merchant, merchant, ID, OTHER)
    assert refused.reason == "merchant_not_in_association"


def test_a_retry_is_the_same_validation_and_anything_else_says_when_and_where() -> None:
    voucher = {
        "code": "ABCDEFGHJK",
        "validated_at": NOW,
        "account_id": AID,
        "validated_by_merchant": ID,
        "expires_at": NOW + timedelta(days=1),
    }
    assert rules.is_retry(voucher, AID, ID)
    assert not rules.is_retry(voucher, OTHER, ID)
    refused = rules.refuse_validated(voucher, "Boulangerie")
    assert refused.reason == "voucher_already_validated" and "Boulangerie" in refused.detail
    assert refused.extra["merchant_name"] == "Boulangerie"
    expires_at = NOW + timedelta(days=1)
    assert rules.refuse_expired(voucher).extra["expires_at"] == expires_at.isoformat()
    assert _refused(rules.check_holder, AID, None, AID).reason == "unknown_account"
    assert _refused(rules.check_holder, AID, OTHER, AID).reason == "account_not_in_association"


def test_an_adjustment_of_the_stored_value_moves_the_cards_money() -> None:
    assert rules.purse_of("stored_value") == "stored_value"
    assert rules.purse_of("pending") == "cagnotte"
    done = {"account_id": AID, "amount_cents": 5}
    assert rules.same_terms(done, ("account_id", "amount_cents"), (AID, 5))
    assert not rules.same_terms(done, ("account_id", "amount_cents"), (AID, 6))
    assert rules.refuse_id_reused("load", ID).reason == "id_reused"


def test_a_donation_goes_to_an_active_partner_of_the_association() -> None:
    partner = {"association_id": AID, "partner_name": "Club", "active": True}
    rules.check_partner(partner, ID, AID)
    assert _refused(rules.check_partner, None, ID, AID).reason == "unknown_partner"
    refused = _refused(rules.check_partner, partner, ID, OTHER)
    assert refused.reason == "partner_not_in_association"
    refused = _refused(rules.check_partner, partner | {"active": False}, ID, AID)
    assert refused.reason == "partner_inactive"
    assert rules.insufficient(100, 200).extra == {"available_cents": 100}


def test_a_donation_is_dated_within_reason() -> None:
    window = DateWindow()
    rules.check_donation_date(NOW - timedelta(days=1), NOW, date(2026, 1, 1), window)
    future = _refused(rules.check_donation_date, NOW + timedelta(days=1), NOW, None, window)
    assert future.reason == "occurred_in_future"
    early = _refused(
        rules.check_donation_date, NOW - timedelta(days=20), NOW, date(2026, 6, 1), window
    )
    assert "books start 2026-06-01" in early.detail


def test_a_customer_file_is_utf8_text() -> None:
    assert import_report.decode("téléphone\n".encode()) == "téléphone\n"
    assert _refused(import_report.decode, "é".encode("latin-1")).title == "File not in UTF-8"
    assert _refused(import_report.decode, b"a\x00b").title == "Not a text file"


def test_the_report_gives_every_rejected_line_in_the_files_order() -> None:
    report = Report(rejected=[Rejected(4, "x" * 2000, ("bad phone",))])
    refused = [(Customer(line=2, raw="taken", phone="+33600000000"), "card_taken")]
    lines = import_report.rejected_lines(report, refused)
    assert [(r.line, r.reasons) for r in lines] == [(2, ["card_taken"]), (4, ["bad phone"])]
    assert len(lines[1].raw) == import_report.MAX_RAW


def test_the_newest_registration_of_a_partner_counts() -> None:
    pid = uuid.UUID(int=5)

    def registered(name: str, at: datetime) -> Any:
        data = PartnerRegistered(partner_id=pid, association_id=AID, partner_name=name, active=True)
        return replace(new_event("clearing", data, subject=f"partner/{pid}"), time=at)

    events = [registered("new", NOW), registered("old", NOW - timedelta(hours=1))]
    assert [e.data.partner_name for e in newest(events)] == ["new"]
    assert newest([]) == []
