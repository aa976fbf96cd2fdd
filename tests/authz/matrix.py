"""The matrix's parts: the world every row is called in, the principals, the rows.

The world: association A with merchants M (the principals' own) and N, association B with
merchant P; an account of A enrolled at M (X, the cardholder's own), one of A enrolled at N
(X2) and one of B (Y). Three targets, the data a request reaches:

- ``own``: (A, M, X) — what the manager, the staff and the cardholder signed in for;
- ``other_merchant``: (A, N, X2) — another merchant of the same association;
- ``other_association``: (B, P, Y).

Each principal is called on each row in each target; ``shared.access.allows`` says whether it
must be let through (any status but 401, 403 and 5xx) or refused (403, reason
``out_of_scope``). A service's module may ``prepare`` resources per target (``Target.ids``)
before its rows run.

How a service's rows are run (tests/integration/test_authorization_matrix.py): each row in
each target is one sequence: the principals to be refused first, together (a refused call
changes nothing), then those to be let through one after the other, operator last (a call
let through may change what the next one finds, e.g. delete the resource). Several such
sequences, of different rows and targets, run at once; a row marked ``last`` runs after every
other row of its service has finished (a route that removes a resource other rows read).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from shared.access import Need, Principal, allows

if TYPE_CHECKING:
    from shared.client import TerminalClient


@dataclass
class Target:
    label: str
    association_id: UUID
    merchant_id: UUID
    account_id: UUID
    # Resources a service's ``prepare`` made in this target's scope, by name.
    ids: dict[str, str] = field(default_factory=dict)

    def scope(self) -> tuple[UUID, UUID, UUID]:
        return self.association_id, self.merchant_id, self.account_id


@dataclass(frozen=True)
class Request:
    path: str  # concrete, the service's base URL excluded
    body: Any = None  # JSON; None: no body
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    own: Target
    other_merchant: Target
    other_association: Target
    # What the tests' network fixtures hold (tests.conftest.Network per association).
    networks: dict[str, Any] = field(default_factory=dict)

    @property
    def targets(self) -> tuple[Target, Target, Target]:
        return self.own, self.other_merchant, self.other_association

    def till(self, target: Target) -> TerminalClient:
        """A terminal of the target's merchant (signed requests: sales, enrolments)."""
        if target is self.other_association:
            return self.networks["other_association"].terminals[0]  # type: ignore[no-any-return]
        own = self.networks["own"]
        return own.terminals[own.merchants.index(target.merchant_id)]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Row:
    """One back-office route: ``method`` and ``path`` as in the service's OpenAPI document."""

    method: str
    path: str
    need: Need
    request: Callable[[Target], Request]
    # The scope the route's data is in, when it is not the target's own triple: e.g. a route
    # of association-wide settings (merchant None), or one with no association (operator).
    scope: Callable[[Target], tuple[UUID | None, UUID | None, UUID | None]] | None = None
    # Another way to call the same route, with its own need and scope (e.g. a listing
    # unfiltered, operator-only, and filtered by association_id): one row per variant.
    variant: str = ""
    # After every other row of the service (a route that removes a resource others read).
    last: bool = False
    # Every principal let through: the answer is what the caller reaches (a listing of the
    # portal's people or tokens), whatever the target.
    anyone: bool = False
    # Every principal refused: the route is the operator's bootstrap admin token's alone.
    bootstrap: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.variant})" if self.variant else "")

    def expected_scope(self, t: Target) -> tuple[UUID | None, UUID | None, UUID | None]:
        return t.scope() if self.scope is None else self.scope(t)

    def lets_through(self, p: Principal, t: Target) -> bool:
        if self.anyone or self.bootstrap:
            return self.anyone
        return allows(p, self.need, *self.expected_scope(t))


Prepare = Callable[[World, Any], Awaitable[None]]  # (world, aiohttp session)


def principals(world: World) -> list[Principal]:
    a, m, x = world.own.scope()
    return [
        Principal("matrix-operator", "operator"),
        Principal("matrix-admin", "association_admin", a),
        Principal("matrix-manager", "manager", a, m),
        Principal("matrix-staff", "staff", a, m),
        Principal("matrix-holder", "cardholder", a, account_id=x),
    ]


def association_only(t: Target) -> tuple[UUID | None, UUID | None, UUID | None]:
    """A route on an association's own data (no merchant, no account)."""
    return t.association_id, None, None


def merchant_only(t: Target) -> tuple[UUID | None, UUID | None, UUID | None]:
    """A route on a merchant's data (no account)."""
    return t.association_id, t.merchant_id, None


def account_only(t: Target) -> tuple[UUID | None, UUID | None, UUID | None]:
    """A route on a cardholder's account, whatever merchant."""
    return t.association_id, None, t.account_id


def no_association(_t: Target) -> tuple[UUID | None, UUID | None, UUID | None]:
    """A route on the network itself: the operator's alone."""
    return None, None, None
