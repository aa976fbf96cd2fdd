"""Who may create whom, and which scope a machine's API token may carry (docs/access.md).

The operator creates anyone; an association's administrator the administrators, managers and
staff of their association; a manager the staff of their merchant. An API token is never
wider than the scope of the person who creates it: a manager may make one for their merchant
as manager or as staff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from shared.access import Principal, Refused, claims_of

PersonRole = Literal["operator", "association_admin", "manager", "staff"]
PERSON_ROLES: tuple[PersonRole, ...] = ("operator", "association_admin", "manager", "staff")


@dataclass(frozen=True, slots=True)
class Scope:
    """A role and the ids of its scope (a person's, or an API token's)."""

    role: PersonRole
    association_id: UUID | None = None
    merchant_id: UUID | None = None

    def well_formed(self) -> bool:
        """Each role carries exactly the ids of its scope."""
        try:
            claims_of(self.principal("check"), 0, 60)  # refuses a scope of the wrong shape
        except Refused:
            return False
        return True

    def principal(self, actor: str, *, machine: bool = False) -> Principal:
        return Principal(
            actor=actor,
            role=self.role,
            association_id=self.association_id,
            merchant_id=self.merchant_id,
            machine=machine,
        )


def may_create_person(creator: Principal, target: Scope) -> bool:
    """May ``creator`` create (or change) a person of scope ``target``?"""
    if not target.well_formed() or creator.machine:
        return False
    if creator.role == "operator":
        return True
    if creator.role == "association_admin":
        return target.role != "operator" and target.association_id == creator.association_id
    if creator.role == "manager":
        return (
            target.role == "staff"
            and target.association_id == creator.association_id
            and target.merchant_id == creator.merchant_id
        )
    return False


def may_grant_token(creator: Principal, target: Scope) -> bool:
    """May ``creator`` create an API token of scope ``target`` (no wider than their own)?"""
    if not target.well_formed() or creator.machine:
        return False
    if creator.role == "manager":
        return (
            target.role in ("manager", "staff")
            and target.association_id == creator.association_id
            and target.merchant_id == creator.merchant_id
        )
    return may_create_person(creator, target)


def normal_email(raw: str) -> str:
    """An e-mail as the portal keys it: trimmed and lower-cased (one person per address)."""
    email = raw.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or " " in email:
        raise ValueError("not an e-mail address")
    return email
