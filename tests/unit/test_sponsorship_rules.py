"""Sponsorship's pure rules (F22): the referral code, who may sponsor whom, what a reward is
worth and when the sponsor's cap stops it, and how clearing books a reward."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime

import pytest

from services.clearing.domain import journal
from services.clearing.domain.statement_lines import detail_row
from services.crm.domain import sponsorship as rules
from services.notifications.service import rendering
from shared.contracts.sponsorship import reversal_id, reward_id
from shared.rules.codes import (
    InvalidCode,
    format_referral_code,
    parse_referral_code,
    referral_code,
)

A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_a_referral_code_reads_back_whatever_the_typing() -> None:
    code = referral_code(secrets.randbelow)
    assert len(code) == 8
    shown = format_referral_code(code)
    assert shown[4] == "-"
    assert parse_referral_code(shown) == code
    assert parse_referral_code(f" {shown.lower()} ") == code
    assert parse_referral_code(code.replace("0", "O").replace("1", "I")) == code


def test_a_mistyped_referral_code_is_refused() -> None:
    code = referral_code(secrets.randbelow)
    wrong = ("1" if code[2] != "1" else "2").join((code[:2], code[3:]))
    with pytest.raises(InvalidCode, match="check character"):
        parse_referral_code(wrong)
    swapped = code[:3] + code[4] + code[3] + code[5:]
    if swapped != code and {code[3], code[4]} != {"0", "Z"}:
        with pytest.raises(InvalidCode):
            parse_referral_code(swapped)
    for bad in ("", "ABCD", "ABCD-EFGH-J", "ABCU-EFGH"):  # U is not in the alphabet
        with pytest.raises(InvalidCode):
            parse_referral_code(bad)


def _refusal(**kw: object) -> str | None:
    args: dict[str, object] = {
        "has_sponsor": False,
        "newcomer_visits": 0,
        "sponsor_chain": [],
        **kw,
    }
    r = rules.link_refusal(args.pop("newcomer", A), args.pop("sponsor", B), **args)  # type: ignore[arg-type]
    return r.reason if r else None


def test_who_may_be_sponsored_by_whom() -> None:
    assert _refusal() is None
    assert _refusal(sponsor=A) == "self_sponsorship"
    assert _refusal(has_sponsor=True) == "already_sponsored"
    assert _refusal(newcomer_visits=1) == "not_a_newcomer"
    # B was brought by C, who was brought by A: A cannot be B's newcomer
    assert _refusal(sponsor_chain=[C, A]) == "sponsorship_loop"
    assert _refusal(sponsor_chain=[C]) is None
    assert rules.LOOP.status == rules.SELF.status == 422
    assert rules.ALREADY.status == rules.NOT_NEW.status == 409


def _programme(**kw: object) -> rules.Programme:
    terms: dict[str, object] = {
        "id": uuid.uuid4(),
        "association_id": uuid.uuid4(),
        "merchant_id": None,
        "enabled": True,
        "reward_at": "purchase",
        "purchase_number": 1,
        "sponsor_amount_cents": 500,
        "sponsor_rate_bps": 0,
        "newcomer_amount_cents": 100,
        "newcomer_rate_bps": 250,
        "cap_per_sponsor": 2,
        "cap_period": "month",
        **kw,
    }
    return rules.Programme.of(terms)


def test_a_reward_is_an_amount_and_a_rate_of_the_purchase_rounded_half_up() -> None:
    assert rules.reward_cents(100, 250, 1_000) == 125
    assert rules.reward_cents(0, 250, 1_002) == 25  # 25.05
    assert rules.reward_cents(0, 250, 1_020) == 26  # 25.5 → 26
    assert rules.reward_cents(300, 1_000, None) == 300  # at enrolment: no purchase


def test_the_sponsors_cap_stops_the_sponsor_not_the_newcomer() -> None:
    p = _programme()
    under = rules.rewards(p, A, B, 4_000, sponsor_granted_in_period=1)
    assert [(r.role, r.account_id, r.amount_cents, r.status) for r in under] == [
        ("sponsor", B, 500, "granted"),
        ("newcomer", A, 200, "granted"),
    ]
    capped = rules.rewards(p, A, B, 4_000, sponsor_granted_in_period=2)
    assert [(r.role, r.amount_cents, r.status) for r in capped] == [
        ("sponsor", 0, "capped"),
        ("newcomer", 200, "granted"),
    ]
    free = rules.rewards(_programme(cap_per_sponsor=None), A, B, 0, 10_000)
    assert free[0].status == "granted"


def test_a_role_still_holding_a_reward_it_could_not_give_back_gets_none_again() -> None:
    again = rules.rewards(_programme(), A, B, 4_000, 0, held=frozenset({"sponsor"}))
    assert [(r.role, r.amount_cents) for r in again] == [("newcomer", 200)]


def test_the_caps_period_is_the_paris_month_or_year() -> None:
    # 31 December 23:30 UTC is already 1 January in Paris
    at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert rules.cap_period_start(at, "month") == date(2027, 1, 1)
    assert rules.cap_period_start(datetime(2026, 6, 15, tzinfo=UTC), "month") == date(2026, 6, 1)
    assert rules.cap_period_start(datetime(2026, 6, 15, tzinfo=UTC), "year") == date(2026, 1, 1)


def test_the_merchants_own_programme_comes_before_the_associations() -> None:
    mine = _programme(merchant_id=uuid.uuid4())
    network = _programme()
    assert rules.applicable(mine, network) is mine
    assert rules.applicable(_programme(enabled=False), network) is network
    assert rules.applicable(None, _programme(enabled=False)) is None


def test_a_rewards_id_is_one_per_newcomer_role_and_qualifying_sale() -> None:
    assert reward_id(A, "sponsor") == reward_id(A, "sponsor")
    assert reward_id(A, "sponsor") != reward_id(A, "newcomer") != reward_id(B, "newcomer")
    sale, other = uuid.uuid4(), uuid.uuid4()
    assert reward_id(A, "sponsor", sale) == reward_id(A, "sponsor", sale)
    assert (
        len(
            {reward_id(A, "sponsor"), reward_id(A, "sponsor", sale), reward_id(A, "sponsor", other)}
        )
        == 3
    )
    assert reversal_id(reward_id(A, "sponsor", sale)) != reversal_id(reward_id(A, "sponsor"))


def test_clearing_books_a_reward_against_its_funder() -> None:
    aid, mid = uuid.uuid4(), uuid.uuid4()
    by_merchant = journal.movement(aid, "sponsorship", "cagnotte", 500, mid)
    assert by_merchant == [
        journal.Posting((aid, journal.MERCHANT, mid), 500),
        journal.Posting((aid, journal.LIABILITY, None), -500),
    ]
    by_association = journal.movement(aid, "sponsorship", "cagnotte", 300)
    assert by_association == [
        journal.Posting((aid, journal.SPONSORSHIPS, None), 300),
        journal.Posting((aid, journal.LIABILITY, None), -300),
    ]


def test_a_reward_on_the_merchants_statement() -> None:
    at = datetime(2026, 10, 20, 10, tzinfo=UTC)
    row = {
        "kind": "sponsorship",
        "occurred_at": at,
        "booked_at": at,
        "title": "MME",
        "last_name": "Martin",
        "first_name": "Alice",
        "card_number": None,
        "purchase_cents": None,
        "amount_cents": 500,
        "product_family": None,
        "product_family_label": None,
        "rate_bps": None,
        "rate_source": None,
        "reward_cents": None,
        "fee_cents": None,
        "merchant_cents": 500,
        "adjusts_period": None,
        "note": "sponsorship reward (sponsor)",
        "partner_name": None,
    }
    line = detail_row(row, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    assert line[1] == "Parrainage"
    assert (line[10], line[12]) == (500, 500)  # CAGNOTTE, NET
    assert line[13] == "récompense du parrain"


def test_the_receipt_and_the_message_say_the_code() -> None:
    sale = {
        "shop_name": "Chez Lili",
        "amount_cents": 4_000,
        "reward_cents": 120,
        "balance_cents": 520,
        "occurred_at": "2026-10-20T10:00:00+00:00",
    }
    with_code = rendering.email("receipt", "fr", {**sale, "referral_code": "7K3M-Q9TA"})
    assert "votre code de parrainage est 7K3M-Q9TA" in with_code.text
    assert "<strong>7K3M-Q9TA</strong>" in with_code.html
    assert "parrainage" not in rendering.email("receipt", "fr", sale).text
    for language in ("fr", "en"):
        sent = rendering.email("referral_code", language, {"referral_code": "7K3M-Q9TA"})
        assert "7K3M-Q9TA" in sent.text and "7K3M-Q9TA" in sent.html
        assert "7K3M-Q9TA" in rendering.sms(
            "referral_code", language, {"referral_code": "7K3M-Q9TA"}, marketing=False
        )
