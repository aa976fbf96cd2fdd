"""The scope token's rules (shared/access.py): what each role reaches, and which tokens are
refused, without a service."""

from __future__ import annotations

from uuid import UUID, uuid4

import jwt
import pytest

from shared import clock, production
from shared.access import (
    DEV_PUBLIC_KEYS,
    DEV_SERVICE_PUBLIC_KEYS,
    DEV_SIGNING_KEY,
    DEV_TRUSTED_KEYS,
    Need,
    Principal,
    Refused,
    Signer,
    Verifier,
    allows,
    claims_of,
    dev_service_key,
    dev_token,
    service_principal,
)
from shared.settings import Settings

A, B = uuid4(), uuid4()  # two associations
M, N = uuid4(), uuid4()  # two merchants of A
X, Y = uuid4(), uuid4()  # two accounts of A

OPERATOR = Principal("op", "operator")
ADMIN = Principal("adm", "association_admin", A)
MANAGER = Principal("mgr", "manager", A, M)
STAFF = Principal("card", "staff", A, M)
HOLDER = Principal("holder", "cardholder", A, account_id=X)

# (principal, need, association, merchant, account) -> allowed
CASES: list[tuple[Principal, Need, UUID | None, UUID | None, UUID | None, bool]] = [
    (OPERATOR, Need.OPERATOR, None, None, None, True),
    (OPERATOR, Need.MANAGER, B, N, None, True),
    (ADMIN, Need.OPERATOR, A, None, None, False),
    (ADMIN, Need.ASSOCIATION, A, None, None, True),
    (ADMIN, Need.ASSOCIATION, B, None, None, False),
    (ADMIN, Need.MANAGER, A, N, None, True),
    (ADMIN, Need.HOLDER, A, None, Y, True),
    (MANAGER, Need.ASSOCIATION, A, None, None, False),
    (MANAGER, Need.NETWORK, A, None, None, True),
    (MANAGER, Need.NETWORK, B, None, None, False),
    (MANAGER, Need.MANAGER, A, M, None, True),
    (MANAGER, Need.MANAGER, A, N, None, False),
    (MANAGER, Need.STAFF, A, M, None, True),
    (MANAGER, Need.HOLDER, A, None, Y, True),
    (MANAGER, Need.HOLDER, B, None, Y, False),
    (STAFF, Need.MANAGER, A, M, None, False),
    (STAFF, Need.STAFF, A, M, None, True),
    (STAFF, Need.STAFF, A, N, None, False),
    (STAFF, Need.HOLDER, A, None, X, True),
    (HOLDER, Need.HOLDER, A, None, X, True),
    (HOLDER, Need.HOLDER, A, None, Y, False),
    (HOLDER, Need.NETWORK, A, None, None, False),
    (HOLDER, Need.DIRECTORY, A, None, None, True),  # the network's shops, names only
    (HOLDER, Need.DIRECTORY, B, None, None, False),
    (STAFF, Need.DIRECTORY, A, None, None, True),
    (HOLDER, Need.STAFF, A, M, None, False),
    (MANAGER, Need.MANAGER, None, M, None, False),  # data of no association: operator only
]


@pytest.mark.parametrize(("p", "need", "a", "m", "x", "allowed"), CASES)
def test_what_each_role_reaches(
    p: Principal, need: Need, a: UUID | None, m: UUID | None, x: UUID | None, allowed: bool
) -> None:
    assert allows(p, need, a, m, x) is allowed


def test_a_token_carries_its_principal_and_is_verified_with_the_public_key() -> None:
    v = Verifier(DEV_PUBLIC_KEYS)
    for p in (OPERATOR, ADMIN, MANAGER, STAFF, HOLDER):
        assert v.verify(dev_token(p)) == p


def test_a_token_signed_by_another_key_or_tampered_with_is_refused() -> None:
    other = Signer("dev:" + "07" * 32)  # same kid, another key
    with pytest.raises(Refused) as e:
        Verifier(DEV_PUBLIC_KEYS).verify(other.issue(MANAGER))
    assert e.value.reason == "invalid_token"
    head, _body, sig = dev_token(STAFF).split(".")
    forged = jwt.encode(
        claims_of(Principal("card", "manager", A, M), clock.now().timestamp(), 60),
        "x" * 32,
        algorithm="HS256",
    ).split(".")[1]
    with pytest.raises(Refused) as e:
        Verifier(DEV_PUBLIC_KEYS).verify(f"{head}.{forged}.{sig}")
    assert e.value.reason == "invalid_token"
    with pytest.raises(Refused) as e:
        Verifier("other:" + "00" * 32).verify(dev_token(STAFF))
    assert e.value.reason == "unknown_key"


def test_an_expired_or_too_long_lived_token_is_refused() -> None:
    signer = Signer(DEV_SIGNING_KEY)
    old = signer.issue(STAFF, lifetime_s=60, now=clock.now().timestamp() - 3600)
    with pytest.raises(Refused) as e:
        Verifier(DEV_PUBLIC_KEYS).verify(old)
    assert e.value.reason == "expired_token"
    claims = claims_of(STAFF, clock.now().timestamp(), 60)
    claims["exp"] = claims["iat"] + 86400  # a day: signed by the right key, still refused
    long = jwt.encode(claims, signer._key, algorithm="EdDSA", headers={"kid": "dev"})
    with pytest.raises(Refused):
        Verifier(DEV_PUBLIC_KEYS).verify(long)


def test_a_scope_without_its_ids_is_refused() -> None:
    with pytest.raises(Refused):
        dev_token(Principal("mgr", "manager", A))  # a manager of no merchant
    claims = claims_of(STAFF, clock.now().timestamp(), 60)
    del claims["merchant_id"]
    token = jwt.encode(claims, Signer(DEV_SIGNING_KEY)._key, algorithm="EdDSA")
    with pytest.raises(Refused):
        Verifier(DEV_PUBLIC_KEYS).verify(token)


def test_production_refuses_to_trust_the_development_key() -> None:
    own = Signer("k1:" + "42" * 32).public_keys
    dev_too = Settings(env="production", scope_public_keys=f"{own},{DEV_PUBLIC_KEYS}")
    refused = production.refusal("cards", dev_too)
    assert refused is not None and "COMPTOIR_SCOPE_PUBLIC_KEYS" in refused
    own_only = Settings(env="production", scope_public_keys=own)
    assert not any(
        d.field == "scope_public_keys" for d in production.development_secrets("cards", own_only)
    )


def test_a_service_signs_its_own_calls_and_nothing_else() -> None:
    trusted = Verifier(DEV_TRUSTED_KEYS)
    crm = Signer(dev_service_key("crm"))
    assert trusted.verify(crm.issue(service_principal("crm"))) == service_principal("crm")
    for posing in (service_principal("cards"), OPERATOR, MANAGER):
        with pytest.raises(Refused, match="its own token"):
            trusted.verify(crm.issue(posing))
    # the portal's key cannot pose as a service either
    with pytest.raises(Refused, match="only a service's own key"):
        trusted.verify(Signer(DEV_SIGNING_KEY).issue(service_principal("crm")))
    # a service's token is issued by that service, not by the portal
    forged = claims_of(service_principal("crm"), clock.now().timestamp(), 60)
    as_portal = jwt.encode(forged, crm._key, algorithm="EdDSA", headers={"kid": "svc-crm"})
    with pytest.raises(Refused, match="refused"):
        trusted.verify(as_portal)


def test_a_service_key_must_be_named_for_its_service() -> None:
    assert Settings(service="crm", service_signing_key="svc-crm:" + "42" * 32).service_key()
    with pytest.raises(ValueError, match="svc-crm"):
        Settings(service="crm", service_signing_key="svc-cards:" + "42" * 32)


def test_production_refuses_the_development_service_keys() -> None:
    own_key = "svc-cards:" + "42" * 32
    portal = Signer("k1:" + "43" * 32).public_keys
    own_public = Signer(own_key).public_keys
    unset = Settings(env="production", service="cards", scope_public_keys=portal)
    refused = production.refusal("cards", unset)
    assert refused is not None and "COMPTOIR_SERVICE_SIGNING_KEY" in refused
    dev_key = Settings(
        env="production",
        service="cards",
        service_signing_key=dev_service_key("cards"),
        scope_public_keys=portal,
    )
    assert "COMPTOIR_SERVICE_SIGNING_KEY" in (production.refusal("cards", dev_key) or "")
    trusts_dev = Settings(
        env="production",
        service="cards",
        service_signing_key=own_key,
        scope_public_keys=f"{portal},{own_public},{DEV_SERVICE_PUBLIC_KEYS.split(',')[2]}",
    )
    assert "COMPTOIR_SCOPE_PUBLIC_KEYS" in (production.refusal("cards", trusts_dev) or "")
    fine = Settings(
        env="production",
        service="cards",
        service_signing_key=own_key,
        scope_public_keys=f"{portal},{own_public}",
    )
    assert not {d.field for d in production.development_secrets("cards", fine)} & {
        "service_signing_key",
        "scope_public_keys",
    }
