"""The front desk's terminals (issue 15, item 3, CARD): the portal books a sale, a redemption,
a return or an enrolment for a merchant's staff through the gateway, as a till does, by a
terminal of the merchant's own registered on first use. Its secret is random, sealed and
never shown, so that no device signs as it: the scope token authorises the desk's requests,
and the gateway records the person who sent each."""

from __future__ import annotations

import secrets
import uuid
from uuid import UUID

from services.terminals.adapters import desk as store
from services.terminals.domain.terminals import Terminal
from services.terminals.service.requests import Gateway
from shared.http import Problem


async def terminal(gw: Gateway, association_id: UUID, merchant_id: UUID) -> Terminal:
    """The merchant's desk terminal, registered now if it has none."""
    known = gw.desks.get(merchant_id)
    if known is None:
        row = await store.desk_terminal(gw.pool, merchant_id)
        if row is None:
            new_id = uuid.uuid4()
            sealed = gw.keyring.seal(new_id, secrets.token_urlsafe(32))
            row = await store.register(gw.pool, new_id, association_id, merchant_id, sealed)
        known = row["id"]
        gw.desks[merchant_id] = known
    t = await gw.terminals.get(known)
    if t is None or t.association_id != association_id:
        raise Problem(
            422,
            "Merchant not in the association",
            f"merchant {merchant_id} is not a merchant of association {association_id}",
            reason="merchant_not_in_association",
        )
    return t


async def existing(gw: Gateway, merchant_id: UUID) -> Terminal | None:
    """The merchant's desk terminal if it has one (a read registers nothing)."""
    known = gw.desks.get(merchant_id)
    if known is None:
        row = await store.desk_terminal(gw.pool, merchant_id)
        if row is None:
            return None
        known = gw.desks[merchant_id] = row["id"]
    return await gw.terminals.get(known)
