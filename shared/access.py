"""Who is asking, and what they may reach (issue 15, F26): the scope token.

A person signed in to the portal (or a machine holding a scoped API token) is sent to the
services with a short-lived scope token: a JWT (RFC 7519) signed with Ed25519 (EdDSA, RFC
8037) by the portal, which alone holds the private key. Every service verifies it on every
back-office route with the public keys it is given (several, by ``kid``, so the portal's key
can rotate), and checks the scope against the data the route reaches. A merchant's token
therefore cannot read another merchant's data even when it calls a service directly.

The roles and what each reaches (``allows``):
- ``operator``: everything, every association (the network's operator; also the bootstrap
  admin token, kept for the first sign-in, and each service calling another: a token it
  signs itself with its own key, kid ``svc-<name>``, naming the actor ``service:<name>``);
- ``association_admin`` of association A: everything of A and of its merchants;
- ``manager`` (MANAGER) of merchant M of A: M's data, the association's shared settings to
  read, and the network's cardholders (a customer shops in any shop of the network);
- ``staff`` (CARD) of merchant M of A: M's front desk only (sales, redemptions, returns,
  enrolment, a customer's card and balance, an incident);
- ``cardholder`` of account X in A: X's own data, and the network's public directory (its
  shops' names), which every person of A reaches.

This module is pure except ``verify``/``issue`` (cryptography); the HTTP side is in
shared/service.py (``back_office``, ``authorise``).
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from shared import clock

Role = Literal["operator", "association_admin", "manager", "staff", "cardholder"]
ROLES: tuple[Role, ...] = ("operator", "association_admin", "manager", "staff", "cardholder")

ISSUER = "comptoir-portal"
AUDIENCE = "comptoir-services"
ALGORITHM = "EdDSA"
# A scope token lives minutes: a session is the portal's, the token only carries it to a
# service for one page's calls. A longer-lived one is refused, whoever signed it.
MAX_LIFETIME_S = 15 * 60
LEEWAY_S = 30

# The development signing key's seed (public: in the source). Services refuse its public key
# unless COMPTOIR_ENV=development (shared/production.py).
DEV_SCOPE_SEED = bytes.fromhex("5c09e5" * 10 + "5c09")
DEV_KID = "dev"


class Need(enum.Enum):
    """What a back-office route reaches, from the narrowest set of roles to the widest."""

    OPERATOR = "operator"  # the network itself (associations, network-wide figures)
    ASSOCIATION = "association"  # an association's own settings and books
    MANAGER = "manager"  # a merchant's back office (MANAGER)
    STAFF = "staff"  # a merchant's front desk (CARD)
    NETWORK = "network"  # the association's shared settings, read by its merchants' people
    HOLDER = "holder"  # one cardholder's account: the holder, or the network's front desks
    DIRECTORY = "directory"  # the network's public directory (its shops): anyone of it


@dataclass(frozen=True, slots=True)
class Principal:
    """The person or machine a request acts for."""

    actor: str  # the signed-in person's or machine token's id, recorded with every change
    role: Role
    association_id: UUID | None = None
    merchant_id: UUID | None = None
    account_id: UUID | None = None
    machine: bool = False

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


BOOTSTRAP = Principal(actor="operator:bootstrap", role="operator")


class Refused(Exception):
    """A token that cannot be trusted; ``reason`` is stable (problem+json's ``reason``)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def allows(
    p: Principal,
    need: Need,
    association_id: UUID | None = None,
    merchant_id: UUID | None = None,
    account_id: UUID | None = None,
) -> bool:
    """May ``p`` do what ``need`` names on the data of this association, merchant, account?

    ``association_id`` is the association the data belongs to (None: no association, which
    only the operator reaches); ``merchant_id`` the merchant, for a merchant's data;
    ``account_id`` the cardholder's account, for HOLDER.
    """
    if p.is_operator:
        return True
    if association_id is None or p.association_id != association_id:
        return False
    if p.role == "association_admin":
        return need is not Need.OPERATOR
    if need is Need.DIRECTORY:  # what a shop shows at its door: its cardholders too
        return True
    if p.role == "cardholder":
        return need is Need.HOLDER and account_id is not None and p.account_id == account_id
    own_merchant = merchant_id is not None and p.merchant_id == merchant_id
    if need is Need.NETWORK or need is Need.HOLDER:
        return p.role in ("manager", "staff")
    if need is Need.MANAGER:
        return p.role == "manager" and own_merchant
    if need is Need.STAFF:
        return p.role in ("manager", "staff") and own_merchant
    return False


# --- keys and tokens ---------------------------------------------------------------------------


def private_key(seed_hex: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))


def public_hex(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


DEV_PUBLIC_KEYS = f"{DEV_KID}:{public_hex(private_key(DEV_SCOPE_SEED.hex()))}"
DEV_SIGNING_KEY = f"{DEV_KID}:{DEV_SCOPE_SEED.hex()}"

# The services' own identities: each calls the others with a scope token it signs with its
# key (COMPTOIR_SERVICE_SIGNING_KEY, kid ``svc-<name>``), so that the admin token stays the
# operator's bootstrap, a call is recorded under the service that made it, and one
# service's key can be revoked alone. A service key signs only its service's own principal.
SERVICES = ("terminals", "cards", "clearing", "crm", "notifications", "portal")
SERVICE_KID = "svc-"


def service_principal(service: str) -> Principal:
    return Principal(f"service:{service}", "operator", machine=True)


def issuer_of(kid: str) -> str:
    """The portal issues the people's and machines' tokens; a service, only its own."""
    return f"comptoir-{kid.removeprefix(SERVICE_KID)}" if kid.startswith(SERVICE_KID) else ISSUER


def dev_service_key(service: str) -> str:
    """A service's development signing key, ``svc-<name>:SEED`` (public: derived from its
    name); refused unless COMPTOIR_ENV=development, as every development secret."""
    seed = hashlib.sha256(b"comptoir development service key:" + service.encode()).hexdigest()
    return f"{SERVICE_KID}{service}:{seed}"


DEV_SERVICE_PUBLIC_KEYS = ",".join(
    f"{SERVICE_KID}{name}:{public_hex(private_key(dev_service_key(name).partition(':')[2]))}"
    for name in SERVICES
)
# What a development machine's services trust: the portal's development key and the
# services' own.
DEV_TRUSTED_KEYS = f"{DEV_PUBLIC_KEYS},{DEV_SERVICE_PUBLIC_KEYS}"


def parse_keys(spec: str) -> dict[str, str]:
    """``"kid:HEX,kid2:HEX"`` (32-byte Ed25519 keys in hex) as {kid: hex}."""
    keys: dict[str, str] = {}
    for part in spec.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, key = part.partition(":")
        if not sep or not kid or len(key) != 64:
            raise ValueError("a key is kid:HEX, with 32 bytes of hex")
        bytes.fromhex(key)
        keys[kid.strip()] = key.lower()
    return keys


class Verifier:
    """The services' side: the portal's public keys by ``kid``."""

    def __init__(self, spec: str) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {
            kid: Ed25519PublicKey.from_public_bytes(bytes.fromhex(key))
            for kid, key in parse_keys(spec).items()
        }

    def verify(self, token: str, now: float | None = None) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Refused("invalid_token", "the bearer token is not a scope token") from exc
        kid = str(header.get("kid"))
        key = self._keys.get(kid)
        if key is None or header.get("alg") != ALGORITHM:
            raise Refused("unknown_key", "the scope token is signed with a key not trusted here")
        try:
            # The times are checked below against the one clock (shared/clock.py), which
            # the portal issues with too, not against pyjwt's reading of the wall clock.
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=issuer_of(kid),
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            exp, iat = int(claims["exp"]), int(claims["iat"])
        except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
            raise Refused("invalid_token", f"the scope token is refused: {exc}") from exc
        at = clock.now().timestamp() if now is None else now
        if exp - iat > MAX_LIFETIME_S or iat > at + LEEWAY_S:
            raise Refused("invalid_token", "the scope token's times are not allowed")
        if exp < at - LEEWAY_S:
            raise Refused("expired_token", "the scope token has expired: sign in again")
        p = principal_of(claims)
        # A service's key speaks for that service alone, and only a service's key for it:
        # a leaked service key cannot pose as a person, nor the portal's as a service.
        if kid.startswith(SERVICE_KID):
            if p != service_principal(kid.removeprefix(SERVICE_KID)):
                raise Refused("invalid_token", "a service's key signs only its own token")
        elif p.actor.startswith("service:"):
            raise Refused("invalid_token", "only a service's own key signs for it")
        return p


def principal_of(claims: Mapping[str, Any]) -> Principal:
    role = claims.get("role")
    if role not in ROLES:
        raise Refused("invalid_token", "the scope token names no known role")
    try:
        p = Principal(
            actor=str(claims["sub"]),
            role=cast(Role, role),
            association_id=_uuid(claims.get("association_id")),
            merchant_id=_uuid(claims.get("merchant_id")),
            account_id=_uuid(claims.get("account_id")),
            machine=bool(claims.get("machine", False)),
        )
    except ValueError as exc:
        raise Refused("invalid_token", "the scope token's scope is malformed") from exc
    _check_shape(p)
    return p


def _check_shape(p: Principal) -> None:
    """Each role carries exactly the ids of its scope."""
    needs = {
        "operator": (False, False, False),
        "association_admin": (True, False, False),
        "manager": (True, True, False),
        "staff": (True, True, False),
        "cardholder": (True, False, True),
    }[p.role]
    held = (p.association_id is not None, p.merchant_id is not None, p.account_id is not None)
    if held != needs:
        raise Refused("invalid_token", f"a {p.role}'s scope token has the wrong ids")


def _uuid(value: Any) -> UUID | None:
    return None if value is None else UUID(str(value))


def claims_of(p: Principal, now: float, lifetime_s: int, issuer: str = ISSUER) -> dict[str, Any]:
    _check_shape(p)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": p.actor,
        "role": p.role,
        "iat": int(now),
        "exp": int(now) + min(lifetime_s, MAX_LIFETIME_S),
        "jti": str(uuid.uuid4()),
    }
    for name in ("association_id", "merchant_id", "account_id"):
        value = getattr(p, name)
        if value is not None:
            claims[name] = str(value)
    if p.machine:
        claims["machine"] = True
    return claims


class Signer:
    """The portal's side: the current signing key (``kid:HEX seed``)."""

    def __init__(self, spec: str) -> None:
        keys = parse_keys(spec)
        if len(keys) != 1:
            raise ValueError("the signing key is one kid:HEX")
        ((self.kid, seed),) = keys.items()
        self._key = private_key(seed)

    @property
    def public_keys(self) -> str:
        return f"{self.kid}:{public_hex(self._key)}"

    def issue(self, p: Principal, lifetime_s: int = 300, now: float | None = None) -> str:
        at = clock.now().timestamp() if now is None else now
        claims = claims_of(p, at, lifetime_s, issuer_of(self.kid))
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})


def dev_token(p: Principal, lifetime_s: int = 300) -> str:
    """A scope token signed with the development key (tests, the demo, bench)."""
    return Signer(DEV_SIGNING_KEY).issue(p, lifetime_s)
