"""The portal's pure rules (services/portal/domain): who may create whom, the API tokens'
widths, the sign-in rate limit's window, sessions' and links' expiry."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.portal.domain.limits import Limit, retry_after, strictest
from services.portal.domain.people import Scope, may_create_person, may_grant_token, normal_email
from services.portal.domain.sessions import (
    Lifetimes,
    SessionTimes,
    alive,
    code_digest,
    digest,
    needs_touch,
    usable_until,
)
from services.portal.entrypoints import words
from services.portal.service.holders import Address, parse_address
from shared.access import Principal

A, B = uuid.uuid4(), uuid.uuid4()
M, N = uuid.uuid4(), uuid.uuid4()
OPERATOR = Principal("person:o", "operator")
ADMIN_A = Principal("person:a", "association_admin", association_id=A)
MANAGER_M = Principal("person:m", "manager", association_id=A, merchant_id=M)
STAFF_M = Principal("person:s", "staff", association_id=A, merchant_id=M)
HOLDER = Principal("holder:x", "cardholder", association_id=A, account_id=uuid.uuid4())
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_the_operator_creates_anyone() -> None:
    for target in (
        Scope("operator"),
        Scope("association_admin", B),
        Scope("manager", B, N),
        Scope("staff", A, M),
    ):
        assert may_create_person(OPERATOR, target)


def test_an_association_admin_creates_the_people_of_their_association_only() -> None:
    assert may_create_person(ADMIN_A, Scope("association_admin", A))
    assert may_create_person(ADMIN_A, Scope("manager", A, M))
    assert may_create_person(ADMIN_A, Scope("staff", A, N))
    assert not may_create_person(ADMIN_A, Scope("operator"))
    assert not may_create_person(ADMIN_A, Scope("manager", B, M))


def test_a_manager_creates_the_staff_of_their_merchant_only() -> None:
    assert may_create_person(MANAGER_M, Scope("staff", A, M))
    assert not may_create_person(MANAGER_M, Scope("staff", A, N))
    assert not may_create_person(MANAGER_M, Scope("staff", B, M))
    assert not may_create_person(MANAGER_M, Scope("manager", A, M))
    assert not may_create_person(MANAGER_M, Scope("association_admin", A))


def test_staff_cardholders_and_machines_create_nobody() -> None:
    for creator in (STAFF_M, HOLDER, Principal("token:t", "operator", machine=True)):
        assert not may_create_person(creator, Scope("staff", A, M))
        assert not may_grant_token(creator, Scope("staff", A, M))


def test_a_scope_of_the_wrong_shape_is_refused_whoever_asks() -> None:
    assert not may_create_person(OPERATOR, Scope("manager", A))  # no merchant
    assert not may_create_person(OPERATOR, Scope("operator", A))  # an operator of an association
    assert not may_grant_token(OPERATOR, Scope("staff", None, M))


def test_an_api_token_is_never_wider_than_its_creator() -> None:
    assert may_grant_token(MANAGER_M, Scope("manager", A, M))
    assert may_grant_token(MANAGER_M, Scope("staff", A, M))
    assert not may_grant_token(MANAGER_M, Scope("manager", A, N))
    assert not may_grant_token(MANAGER_M, Scope("association_admin", A))
    assert may_grant_token(ADMIN_A, Scope("association_admin", A))
    assert not may_grant_token(ADMIN_A, Scope("operator"))


def test_the_rate_limit_counts_the_failures_of_its_window() -> None:
    limit = Limit(3, timedelta(minutes=15))
    fails = [T0 - timedelta(minutes=20), T0 - timedelta(minutes=10), T0 - timedelta(minutes=5)]
    assert retry_after(fails, limit, T0) is None  # the first is out of the window
    fails.append(T0 - timedelta(minutes=1))
    # three within: wait until the oldest of them (10 minutes ago) leaves the window
    assert retry_after(fails, limit, T0) == 5 * 60
    assert retry_after(fails, limit, T0 + timedelta(minutes=5)) is None


def test_the_strictest_wait_wins() -> None:
    assert strictest([None, None]) is None
    assert strictest([30, None, 600]) == 600


def test_a_session_ends_when_idle_at_its_absolute_limit_or_revoked() -> None:
    lifetimes = Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    s = SessionTimes(T0, T0, T0 + lifetimes.absolute, revoked=False)
    assert alive(s, lifetimes, T0 + timedelta(minutes=29))
    assert not alive(s, lifetimes, T0 + timedelta(minutes=31))  # idle
    seen = SessionTimes(T0, T0 + timedelta(hours=11, minutes=50), s.expires_at, revoked=False)
    assert alive(seen, lifetimes, T0 + timedelta(hours=11, minutes=55))
    assert not alive(seen, lifetimes, T0 + timedelta(hours=12))  # absolute, though active
    assert not alive(SessionTimes(T0, T0, s.expires_at, revoked=True), lifetimes, T0)


def test_a_session_is_touched_at_most_once_a_minute() -> None:
    s = SessionTimes(T0, T0, T0 + timedelta(hours=1), revoked=False)
    assert not needs_touch(s, T0 + timedelta(seconds=59))
    assert needs_touch(s, T0 + timedelta(seconds=60))


def test_a_link_or_code_is_usable_once_before_it_expires() -> None:
    expires = T0 + timedelta(hours=24)
    assert usable_until(expires, used=False, now=T0)
    assert not usable_until(expires, used=True, now=T0)
    assert not usable_until(expires, used=False, now=expires)


def test_secrets_are_kept_as_hashes_and_codes_bound_to_their_challenge() -> None:
    assert len(digest("secret")) == 32 and digest("secret") != digest("secreT")
    assert code_digest("c1", "123456") != code_digest("c2", "123456")


def test_an_email_is_keyed_trimmed_and_lower_cased() -> None:
    assert normal_email("  Lea.Martin@Example.ORG ") == "lea.martin@example.org"
    for bad in ("lea", "lea@", "@example.org", "lea@localhost", "l ea@example.org"):
        try:
            normal_email(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was taken")


def test_every_sentence_of_the_pages_is_in_french() -> None:
    root = Path(words.__file__).resolve().parents[1]
    used = set()
    for path in [*(root / "templates").glob("*.html"), *(root / "entrypoints").rglob("*.py")]:
        used |= set(re.findall(r'\b(?:t|say)\((?:request, )?"([^"]+)"', path.read_text()))
    used |= {"operator", "association_admin", "manager", "staff", "cardholder"}
    # A key made in the template ("fig." ~ key): the dashboard's test checks those in full.
    used = {key for key in used if not key.endswith(".")}
    assert used - set(words.FR) == set()
    assert words.translate("At least {n} characters.", "fr", n=12) == "Au moins 12 caractères."
    assert words.translate("At least {n} characters.", "en", n=12) == "At least 12 characters."


def test_a_cardholder_gives_an_email_or_a_mobile_number() -> None:
    assert parse_address(" Lea@Example.org ") == Address("email", "lea@example.org")
    assert parse_address("06 12 34 56 78") == Address("sms", "+33612345678")
    assert parse_address("bonjour") is None
