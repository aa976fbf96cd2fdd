"""A message's life, pure: providers' answers, retries with backoff, permanent failures; and
its words: templates in French and English with Babel's amounts and dates, DKIM."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from uuid import uuid4

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.notifications.adapters.smtp import Attached, BadHeader, build, sign
from services.notifications.domain.messages import (
    after,
    backoff,
    claim_size,
    dlr_status,
    smtp_answer,
)
from services.notifications.service import rendering
from shared.settings import Settings

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
FIRST = timedelta(seconds=30)


def test_smtp_answers() -> None:
    assert smtp_answer(250, "2.0.0 Ok: queued as X").ok
    assert smtp_answer(451, "try later").temporary
    refused = smtp_answer(550, "5.1.1 no such user")
    assert (
        not refused.ok and not refused.temporary and refused.reason == "smtp 550 5.1.1 no such user"
    )


def test_backoff_doubles_up_to_six_hours() -> None:
    assert [backoff(n, FIRST).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(40, FIRST) == timedelta(hours=6)


def test_after_an_answer() -> None:
    assert after(smtp_answer(250, "ok"), 1, 8, NOW, FIRST).status == "sent"
    again = after(smtp_answer(421, "busy"), 2, 8, NOW, FIRST)
    assert (again.status, again.due_at) == ("queued", NOW + timedelta(seconds=60))
    last = after(smtp_answer(421, "busy"), 8, 8, NOW, FIRST)
    assert last.status == "failed" and last.reason == "gave up after 8 attempts: smtp 421 busy"
    assert after(smtp_answer(554, "spam"), 1, 8, NOW, FIRST).status == "failed"


def test_kannel_delivery_reports() -> None:
    assert [dlr_status(t) for t in (1, 2, 4, 8, 16)] == [
        "delivered",
        "failed",
        None,
        None,
        "failed",
    ]


def test_amounts_and_dates_in_the_persons_language() -> None:
    variables = {
        "shop_name": "Le Bistrot",
        "amount_cents": 246_000,
        "reward_cents": 5,
        "balance_cents": 0,
        "occurred_at": "2026-07-14T10:30:00+00:00",
    }
    fr = rendering.email("receipt", "fr", variables)
    en = rendering.email("receipt", "en", variables)
    assert "2\u202f460,00\u00a0€ le 14 juillet 2026 12:30" in fr.text  # Paris time
    assert "€2,460.00 on 14 July 2026 12:30" in en.text
    assert "0,05\u00a0€" in fr.html and "€0.05" in en.html


def test_html_is_escaped_and_text_is_not() -> None:
    words = rendering.email(
        "details_link", "fr", {"url": "https://x.org/?a=1&b=2", "shop_name": "A&B"}
    )
    assert "https://x.org/?a=1&amp;b=2" in words.html
    assert "https://x.org/?a=1&b=2" in words.text
    assert words.subject == "Complétez vos coordonnées chez A&B"


def test_a_missing_variable_or_template_is_a_permanent_failure() -> None:
    with pytest.raises(rendering.Unrenderable, match="amount_cents"):
        rendering.email("receipt", "fr", {"shop_name": "x"})
    with pytest.raises(rendering.Unrenderable, match="no SMS template statement"):
        rendering.sms("statement", "fr", {}, marketing=False)


def test_marketing_sms_carry_the_stop_mention() -> None:
    assert rendering.sms("quick_news", "fr", {"body": "Arrivage"}, marketing=True).endswith(
        "STOP au 38000"
    )
    assert "STOP" not in rendering.sms(
        "consent_sms_code", "fr", {"code": "1", "scope_label": "x"}, False
    )


def test_dkim_signature_verifies_against_the_published_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = Settings(dkim_domain="shop.example", dkim_selector="s1", dkim_private_key=pem)
    words = rendering.email("details_link", "en", {"url": "https://x.example/d"})
    unsubscribe = "https://crm.example/u/" + "x" * 90
    raw = sign(
        settings,
        build(
            settings, uuid4(), "a@b.example", words.subject, words.text, words.html, unsubscribe, []
        ),
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s1._domainkey.shop.example."
        return record

    assert raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(raw, dnsfunc=dns)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert not dkim.verify(raw.replace(b"Complete your", b"Complete our"), dnsfunc=dns)


def test_the_message_written_by_hand_reads_back_as_a_mail_client_reads_it() -> None:
    settings = Settings()
    mid = uuid4()
    text = "Relevé d'été = 12,50 €  \nUne ligne " + "très longue " * 20 + "\n.\nfin"
    html = "<p>Été &amp; <strong>12,50 €</strong></p>"
    xlsx = bytes(range(256)) * 40
    raw = build(
        settings,
        mid,
        "marie@example.org",
        "Relevé d'octobre — Boulangerie",
        text,
        html,
        "https://crm.example/u/1",
        [Attached("releve-2026-10.xlsx", "application/vnd.ms-excel", xlsx)],
    )
    assert b"\r\n\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "Relevé d'octobre — Boulangerie"
    assert msg["Message-ID"] == f"<{mid}@comptoir.localhost>"
    assert msg["List-Unsubscribe"] == "<https://crm.example/u/1>"
    plain = msg.get_body(("plain",))
    rich = msg.get_body(("html",))
    assert plain is not None and rich is not None
    assert plain.get_content().replace("\r\n", "\n") == text
    assert rich.get_content().replace("\r\n", "\n") == html
    [attached] = list(msg.iter_attachments())
    assert attached.get_filename() == "releve-2026-10.xlsx"
    assert attached.get_content() == xlsx


def test_a_line_break_in_an_address_or_subject_is_refused() -> None:
    with pytest.raises(BadHeader):
        build(Settings(), uuid4(), "a@b.org\r\nBcc: x@y.org", "s", "t", "h", None, [])
    with pytest.raises(BadHeader):
        build(Settings(), uuid4(), "a@b.org", "s\nBcc: x@y.org", "t", "h", None, [])


def test_a_pass_claims_no_more_than_the_rate_limit_lets_out_in_half_a_lease() -> None:
    # The defaults: both channels claim the whole batch.
    assert claim_size(500, 2000.0, 60.0, 2) == 500
    assert claim_size(500, 50.0, 60.0, 2) == 500
    # An SMS provider held to 5/s: two passes of 500 would wait 200 s for a 60 s lease, and
    # the messages past the first 300 would be claimed again while still waiting: sent twice.
    assert claim_size(500, 5.0, 60.0, 2) == 75
    assert 2 * claim_size(500, 5.0, 60.0, 2) / 5.0 <= 60.0 / 2
    assert claim_size(500, 0.01, 60.0, 2) == 1  # always one at least
