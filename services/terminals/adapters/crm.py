"""crm, as the gateway asks it whether a referral code given at the till is held by a customer
of the association, before the account is opened (F22): the till hears at once of a code
nobody holds. A short wait: crm not answering does not stop an enrolment (crm checks the code
again when it links the sponsor, as before)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import aiohttp

from shared import logging as log
from shared import metrics, peers
from shared.settings import Settings

TIMEOUT = aiohttp.ClientTimeout(total=2)

Held = Literal["held", "unknown", "unanswered"]


async def referral_code(settings: Settings, association_id: UUID, code: str) -> Held:
    """Counted by answer (``comptoir_referral_code_checks_total``): an operator sees how many
    enrolments went through unchecked while crm did not answer."""
    held = await _ask(settings, association_id, code)
    metrics.referral_code_checks.labels(held).inc()
    return held


async def _ask(settings: Settings, association_id: UUID, code: str) -> Held:
    url = f"{settings.crm_url}/v1/associations/{association_id}/referral-codes/{code}"
    try:
        status = await peers.status_of(settings, url, TIMEOUT)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.get(__name__).warning(
            "referral code not checked: crm did not answer", error=repr(exc), bound_s=TIMEOUT.total
        )
        return "unanswered"
    if status == 200:
        return "held"
    if status == 404:
        return "unknown"
    log.get(__name__).warning("referral code not checked", crm_status=status)
    return "unanswered"
