"""Webhooks, pure: the Standard Webhooks signature (the published test vector), a rotation's
two signatures, the retry schedule up to a day, the URLs refused, the event types and what a
payload carries (no personal data)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.notifications.domain import webhook_retries as retries
from services.notifications.domain import webhooks as rules
from shared.contracts import (
    AccountOpened,
    BookedTransaction,
    ConsentChanged,
    LevelChanged,
    MonthlyStatementReady,
    SponsorshipRewardGranted,
    TransactionsBooked,
)
from shared.contracts.sponsorship import reward_id
from shared.service import Subscriptions
from shared.settings import Settings

NOW = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)
A, M, OTHER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

# Standard Webhooks' published vector (the reference libraries' own tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_is_the_standard_webhooks_one() -> None:
    assert rules.signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    at = datetime.fromtimestamp(VECTOR_TS, UTC)
    signed = rules.headers(VECTOR_ID, VECTOR_TS, VECTOR_BODY, [VECTOR_SECRET])
    assert signed["webhook-signature"] == VECTOR_SIGNATURE
    assert signed["webhook-id"] == VECTOR_ID and signed["webhook-timestamp"] == str(VECTOR_TS)
    assert rules.verify(VECTOR_SECRET, signed, VECTOR_BODY, at + timedelta(minutes=4))
    # another body, an old timestamp, another secret: refused
    assert not rules.verify(VECTOR_SECRET, signed, VECTOR_BODY + b" ", at)
    assert not rules.verify(VECTOR_SECRET, signed, VECTOR_BODY, at + timedelta(minutes=6))
    other = rules.new_secret(b"k" * 32)
    assert not rules.verify(other, signed, VECTOR_BODY, at)


def test_during_a_rotation_each_active_secret_signs_and_either_verifies() -> None:
    old, new = rules.new_secret(b"o" * 32), rules.new_secret(b"n" * 32)
    body = b'{"type":"sale.booked"}'
    signed = rules.headers("msg_1", int(NOW.timestamp()), body, [new, old])
    assert len(signed["webhook-signature"].split(" ")) == 2
    assert rules.verify(old, signed, body, NOW) and rules.verify(new, signed, body, NOW)
    with pytest.raises(ValueError):
        rules.headers("msg_1", 0, body, [])


def test_a_secret_is_whsec_and_base64_of_enough_random_bytes() -> None:
    secret = rules.new_secret(bytes(range(32)))
    assert secret.startswith("whsec_") and len(secret) == 6 + 44
    with pytest.raises(ValueError):
        rules.new_secret(b"short")
    with pytest.raises(ValueError):
        rules.signature("not-a-secret", "msg_1", 0, b"")


def test_retries_back_off_for_up_to_a_day_then_fail() -> None:
    start = NOW
    at, tries = start, 1
    schedule = []
    while (due := retries.next_attempt(tries, start, at)) is not None:
        schedule.append(due - at)
        at, tries = due, tries + 1
    assert schedule == list(retries.RETRY_DELAYS)
    assert schedule[0] == timedelta(seconds=5)
    assert tries == len(retries.RETRY_DELAYS) + 1  # attempts in all before failed
    assert timedelta(hours=20) < at - start <= retries.GIVE_UP_AFTER
    # a job that comes back after a day (a machine down, a clock moved): failed at once
    assert retries.next_attempt(1, start, start + timedelta(hours=25)) is None
    assert retries.next_attempt(2, start, start + timedelta(hours=1)) == start + timedelta(
        hours=1, minutes=1
    )


def test_the_first_retry_waits_its_setting_and_the_next_ones_as_before() -> None:
    assert Settings().webhook_first_retry_s == 5
    first = timedelta(seconds=2)
    assert retries.next_attempt(1, NOW, NOW, first) == NOW + first
    for n, wait in enumerate(retries.RETRY_DELAYS[1:4], start=2):
        assert retries.next_attempt(n, NOW, NOW, first) == NOW + wait
    assert retries.next_attempt(len(retries.RETRY_DELAYS) + 1, NOW, NOW, first) is None
    for wrong in (0, 61):
        with pytest.raises(ValidationError, match="webhook_first_retry_s"):
            Settings(webhook_first_retry_s=wrong)


def test_only_2xx_is_delivered() -> None:
    assert rules.succeeded(200) and rules.succeeded(204)
    assert not any(rules.succeeded(s) for s in (None, 199, 301, 410, 500))


@pytest.mark.parametrize(
    ("url", "development", "reason"),
    [
        ("https://hooks.example.com/comptoir", False, None),
        ("https://hooks.example.com:8443/x?a=1", False, None),
        ("http://hooks.example.com/x", False, "not_https"),
        ("http://127.0.0.1:9000/x", False, "not_https"),
        ("http://127.0.0.1:9000/x", True, None),
        ("http://localhost/x", True, None),
        ("http://hooks.example.com/x", True, "not_https"),
        ("ftp://hooks.example.com/x", False, "not_https"),
        ("https://127.0.0.1/x", False, "private_address"),
        ("https://10.1.2.3/x", False, "private_address"),
        ("https://192.168.1.1/x", False, "private_address"),
        ("https://169.254.169.254/latest/meta-data", False, "private_address"),
        ("https://[::1]/x", False, "private_address"),
        ("https://localhost/x", False, "private_address"),
        ("https://printer.local/x", False, "private_address"),
        ("https://8.8.8.8/x", False, None),
        ("https://user:pw@hooks.example.com/x", False, "bad_url"),
        ("https://hooks.example.com/x#frag", False, "bad_url"),
        ("https:///x", False, "bad_url"),
        ("https://hooks.example.com:99999/x", False, "bad_url"),
    ],
)
def test_urls_refused(url: str, development: bool, reason: str | None) -> None:
    assert rules.url_refusal(url, development) == reason


def test_the_event_types_table_names_the_routing_keys_the_webhooks_queue_binds() -> None:
    from services.notifications.app import WEBHOOKS

    queue: Subscriptions = WEBHOOKS
    assert set(rules.EVENT_TYPES.values()) == set(queue.routing_keys())
    assert rules.EVENT_TYPES["status.changed"] == "account.level_changed.v1"
    assert rules.EVENT_TYPES["sponsorship.rewarded"] == "sponsorship.reward_granted.v1"
    assert rules.EVENT_TYPES["sponsorship.reward_reversed"] == "sponsorship.reward_reversed.v1"
    assert queue.inbox == "webhook_inbox"


def _booked() -> TransactionsBooked:
    def t(kind: str, cents: int) -> BookedTransaction:
        return BookedTransaction(
            transaction_id=uuid.uuid4(),
            kind=kind,  # type: ignore[arg-type]
            account_id=uuid.uuid4(),
            card_number="9250000000012",
            occurred_at=NOW,
            amount_cents=cents,
            reward_cents=25 if kind == "sale" else 0,
        )

    return TransactionsBooked(
        origin="online",
        association_id=A,
        merchant_id=M,
        shop_id=uuid.uuid4(),
        terminal_id=uuid.uuid4(),
        transactions=[t("sale", 1000), t("redemption", 300)],
    )


def test_a_booked_fact_is_one_occurrence_per_transaction_without_the_card_number() -> None:
    fact = _booked()
    sale, redemption = rules.from_booked("e1", fact)
    assert (sale.type, redemption.type) == ("sale.booked", "redemption.booked")
    assert sale.key == f"e1:{fact.transactions[0].transaction_id}" != redemption.key
    assert sale.data["amount_cents"] == 1000 and sale.data["reward_cents"] == 25
    assert sale.data["merchant_id"] == str(M) and "card_number" not in sale.data
    assert "9250000000012" not in str(sale.data)


def test_an_enrolment_carries_no_name_phone_or_email() -> None:
    opened = AccountOpened(
        account_id=uuid.uuid4(),
        association_id=A,
        merchant_id=M,
        phone="+33611000001",
        email="lea@example.com",
        first_name="Léa",
        last_name="Roux",
        opened_at=NOW,
        request_id=uuid.uuid4(),
        request_kind="enrolment",
    )
    (o,) = rules.from_opened("e2", opened)
    text = str(o.data)
    assert o.type == "customer.enrolled" and o.data["account_id"] == str(opened.account_id)
    assert all(p not in text for p in ("+336", "lea@", "Léa", "Roux"))


def test_consent_level_and_statement_occurrences() -> None:
    account = uuid.uuid4()
    (c,) = rules.from_consent(
        "e3",
        ConsentChanged(
            consent_id=uuid.uuid4(),
            account_id=account,
            association_id=A,
            channel="sms",
            status="withdrawn",
            how="sms_stop",
            changed_at=NOW,
        ),
    )
    assert (c.type, c.merchant_id, c.data["status"]) == ("consent.changed", None, "withdrawn")
    (lv,) = rules.from_level(
        "e4",
        LevelChanged(
            account_id=account,
            association_id=A,
            merchant_id=M,
            level_code="privilege",
            occurred_at=NOW,
        ),
    )
    assert lv.type == "status.changed" and lv.data["level_code"] == "privilege"
    statement = MonthlyStatementReady(
        statement_id=uuid.uuid4(),
        association_id=A,
        merchant_id=M,
        merchant_name="Boulangerie",
        period_start=date(2031, 2, 1),
        period_end=date(2031, 2, 28),
        purchases_count=2,
        purchases_cents=2000,
        cagnottages_cents=50,
        fees_cents=10,
        redemptions_count=0,
        redemptions_cents=0,
        net_cents=60,
        xlsx_path="/x.xlsx",
        csv_path="/x.csv",
    )
    newcomer = uuid.uuid4()
    (r,) = rules.from_sponsorship(
        "e6",
        SponsorshipRewardGranted(
            reward_id=reward_id(newcomer, "sponsor"),
            newcomer_id=newcomer,
            sponsor_id=account,
            role="sponsor",
            account_id=account,
            association_id=A,
            merchant_id=None,  # the association's programme funds it
            amount_cents=500,
            trigger="enrolment",
            occurred_at=NOW,
        ),
    )
    assert (r.type, r.merchant_id, r.data["amount_cents"]) == ("sponsorship.rewarded", None, 500)
    assert r.data["reward_id"] == str(reward_id(newcomer, "sponsor"))
    assert r.data["newcomer_id"] == str(newcomer) and r.data["sale_id"] is None
    assert rules.wanted(A, None, ["sponsorship.rewarded"], r)  # the association hears of it
    assert not rules.wanted(A, M, ["sponsorship.rewarded"], r)  # a merchant does not
    (s,) = rules.from_statement("e5", statement, NOW)
    assert s.type == "statement.ready" and s.at == NOW and s.data["net_cents"] == 60
    assert s.data["period_end"] == "2031-02-28"


def test_a_merchant_hears_of_its_own_events_an_association_of_its_whole_network() -> None:
    sale, _ = rules.from_booked("e1", _booked())
    assert rules.wanted(A, None, ["sale.booked"], sale)
    assert rules.wanted(A, M, ["sale.booked"], sale)
    assert not rules.wanted(A, OTHER, ["sale.booked"], sale)
    assert not rules.wanted(OTHER, None, ["sale.booked"], sale)
    assert not rules.wanted(A, None, ["redemption.booked"], sale)


def test_the_message_id_is_the_delivery_s() -> None:
    d = uuid.uuid4()
    assert rules.message_id(d) == "msg_" + d.hex
