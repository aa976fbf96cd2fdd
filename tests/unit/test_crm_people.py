"""crm's pure rules of issue 13: the customer file's "à remplir", what a change changed, the
e-mail syntax, the signed links, and the one function that lets a marketing message go."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.crm.domain import consent, people, tokens
from services.crm.domain.consent import Consent

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
KEY = b"k" * 32


def test_the_guides_mandatory_fields_are_to_fill_until_given() -> None:
    d = people.Details(phone="+33611223344")
    assert people.to_fill(d) == ["title", "last_name", "first_name", "postal_code"]
    assert people.to_fill(people.Details()) == [
        "title",
        "last_name",
        "first_name",
        "mobile_or_email",
        "postal_code",
    ]
    full = d.updated({"title": "MME", "first_name": "A", "last_name": "B", "postal_code": "03000"})
    assert people.to_fill(full) == []
    assert people.to_fill(full.updated({"phone": None, "email": "a@b.fr"})) == []


def test_a_change_names_its_fields() -> None:
    before = people.Details(last_name="Roux", notes="x")
    assert people.changed(before, before.updated({"last_name": "Martin"})) == ["last_name"]
    assert people.details_shared(before) == dict.fromkeys(people.SHARED) | {"last_name": "Roux"}
    after = before.updated({"children_birthdays": [date(2010, 1, 1)]})
    assert after.children_birthdays == (date(2010, 1, 1),)


@pytest.mark.parametrize(
    "bad",
    ["a", "a@b", "a b@c.fr", "a@@c.fr", ".a@c.fr", "a..b@c.fr", "a@c..fr", "a@-c.fr", "a@c.123"],
)
def test_an_email_is_refused_by_its_syntax(bad: str) -> None:
    with pytest.raises(ValueError):
        people.email(bad)


def test_an_email_is_lower_cased() -> None:
    assert people.email(" G.Buis+fid@Example.FR ") == "g.buis+fid@example.fr"


def test_the_pseudonym_is_stable_and_tells_nothing() -> None:
    a = uuid.uuid4()
    assert people.pseudonym(a) == people.pseudonym(a) != people.pseudonym(uuid.uuid4())
    assert str(a) not in people.pseudonym(a)


def test_a_link_serves_its_purpose_until_it_expires() -> None:
    s = uuid.uuid4()
    t = tokens.sign(KEY, "details", s, NOW + timedelta(days=1))
    assert tokens.verify(KEY, t, "details", NOW) == s
    for key, purpose, at, reason in (
        (KEY, "details", NOW + timedelta(days=1), "expired_token"),
        (KEY, "unsubscribe", NOW, "bad_token"),
        (b"x" * 32, "details", NOW, "bad_token"),
    ):
        with pytest.raises(tokens.InvalidToken) as exc:
            tokens.verify(key, t, purpose, at)  # type: ignore[arg-type]
        assert exc.value.reason == reason
    head, mac = t.split(".")
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(KEY, head + "." + mac[:-2] + "AA", "details", NOW)


def _c(channel: str, merchant: uuid.UUID | None, status: str, address: str | None) -> Consent:
    return Consent(uuid.uuid4(), channel, merchant, status, address)  # type: ignore[arg-type]


def test_marketing_needs_a_confirmed_consent_of_its_channel_scope_and_address() -> None:
    m = uuid.uuid4()
    ok = _c("email", m, "confirmed", "a@b.fr")
    assert consent.may_send([ok], "email", m, "a@b.fr") == ok
    assert consent.may_send([ok], "email", None, "a@b.fr") is None  # the network's is another
    assert consent.may_send([ok], "email", uuid.uuid4(), "a@b.fr") is None
    assert consent.may_send([ok], "sms", m, "a@b.fr") is None
    assert consent.may_send([ok], "email", m, "new@b.fr") is None  # the address changed
    assert consent.may_send([ok], "email", m, None) is None
    for status in ("pending", "withdrawn"):
        assert consent.may_send([_c("email", m, status, "a@b.fr")], "email", m, "a@b.fr") is None


def test_the_sms_code_is_refused_wrong_late_or_after_too_many_attempts() -> None:
    cid = uuid.uuid4()
    digest = consent.code_digest(cid, "123456")
    later = NOW + consent.CODE_LIFETIME
    consent.check_code(cid, "pending", digest, later, 0, "123456", NOW)
    for status, attempts, code, at, reason in (
        ("pending", 0, "654321", NOW, "wrong_code"),
        ("pending", 0, "123456", later, "expired_code"),
        ("pending", consent.MAX_CODE_ATTEMPTS, "123456", NOW, "too_many_attempts"),
        ("confirmed", 0, "123456", NOW, "not_pending"),
    ):
        with pytest.raises(consent.CodeRefused) as exc:
            consent.check_code(cid, status, digest, later, attempts, code, at)  # type: ignore[arg-type]
        assert exc.value.reason == reason


def test_every_marketing_message_of_crm_goes_through_the_consent_gate() -> None:
    """One module of crm makes MessageRequested, and in it only ``marketing_many`` (which asks
    ``may_send``; ``marketing`` is a batch of one) makes a marketing one: a new trigger cannot
    go round the consent."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "services" / "crm"
    makers = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*.py")
        if "MessageRequested(" in p.read_text()
    ]
    assert makers == ["service/messages.py"]
    tree = ast.parse((root / "service" / "messages.py").read_text())
    marketing_callers = {
        f.name
        for f in ast.walk(tree)
        if isinstance(f, ast.AsyncFunctionDef | ast.FunctionDef)
        for node in ast.walk(f)
        if isinstance(node, ast.Constant) and node.value == "marketing"
    }
    assert marketing_callers == {"marketing_many"}
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.AsyncFunctionDef)}
    assert "may_send" in ast.unparse(functions["marketing_many"])
    assert "marketing_many(" in ast.unparse(functions["marketing"])


def test_a_merchant_sees_of_an_imported_member_only_the_channels_consented() -> None:
    d = people.Details(
        last_name="Buis",
        phone="+33608091011",
        email="g@b.fr",
        address="1 rue",
        town="Moulins",
        postal_code="03000",
        notes="fidèle",
    )
    seen = people.merchant_view(d, "import", {"sms"})
    assert (seen.last_name, seen.phone, seen.email, seen.address, seen.notes) == (
        "Buis",
        "+33608091011",
        None,
        None,
        None,
    )
    assert people.merchant_view(d, "import", {"post"}).postal_code == "03000"
    assert people.merchant_view(d, "enrolment", set()) == d
