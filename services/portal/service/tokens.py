"""Machines' API tokens (docs/access.md): made by a person within their reach (the secret
shown once, its hash kept), listed, revoked; exchanged at POST /v1/tokens for a scope token,
OAuth client-credentials style, each use recorded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.portal.adapters import credentials as store
from services.portal.adapters.services import TOKEN_LIFETIME_S
from services.portal.domain.people import Scope, may_grant_token
from services.portal.domain.sessions import digest
from services.portal.service import people
from services.portal.service.state import Portal, new_secret
from shared import clock
from shared.access import Principal
from shared.http import Problem

# A prefix that says what the secret is when it is found in a log or a repository.
PREFIX = "cpt_"


@dataclass(frozen=True, slots=True)
class Issued:
    row: asyncpg.Record
    secret: str


def _out_of_scope(p: Principal, what: str) -> Problem:
    return Problem(
        403, "Forbidden", f"a {p.role}'s sign-in does not reach {what}", reason="out_of_scope"
    )


async def create(portal: Portal, creator: Principal, name: str, scope: Scope) -> Issued:
    if not may_grant_token(creator, scope):
        raise _out_of_scope(creator, f"an API token of a {scope.role} here")
    await people.known_scope(portal, scope)
    secret = PREFIX + new_secret()
    row = await store.add_token(
        portal.pool,
        uuid.uuid4(),
        digest(secret),
        name,
        (scope.role, scope.association_id, scope.merchant_id),
        creator.actor,
        clock.now(),
    )
    return Issued(row, secret)


def _reaches(p: Principal, row: asyncpg.Record) -> bool:
    return may_grant_token(p, Scope(row["role"], row["association_id"], row["merchant_id"]))


async def revoke(portal: Portal, p: Principal, token_id: uuid.UUID) -> asyncpg.Record:
    row = await store.token(portal.pool, token_id)
    if row is None:
        raise Problem(404, "Unknown API token", "no such API token", reason="unknown_token")
    if not _reaches(p, row):
        # as the services answer a resource out of the caller's scope (the matrix's rule)
        raise _out_of_scope(p, "this API token")
    await store.revoke_token(portal.pool, token_id, clock.now())
    found = await store.token(portal.pool, token_id)
    assert found is not None
    return found


async def listed(portal: Portal, p: Principal) -> list[asyncpg.Record]:
    rows = await store.tokens_in_scope(
        portal.pool, None if p.is_operator else p.association_id, p.merchant_id
    )
    return [r for r in rows if _reaches(p, r)]


async def exchange(portal: Portal, secret: str) -> tuple[str, int]:
    """A scope token for a live API token's secret, and its lifetime; 401 otherwise."""
    row = None
    if secret.startswith(PREFIX) and len(secret) < 100:
        row = await store.use_token(portal.pool, digest(secret), clock.now())
    if row is None:
        raise Problem(
            401, "Unauthorized", "unknown or revoked API token", reason="invalid_api_token"
        )
    scope = Scope(row["role"], row["association_id"], row["merchant_id"])
    token = portal.signer.issue(
        scope.principal(f"token:{row['id']}", machine=True), TOKEN_LIFETIME_S
    )
    return token, TOKEN_LIFETIME_S
