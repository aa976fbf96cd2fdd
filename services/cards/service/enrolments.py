"""Enrolments: a phone's account opened at a terminal's request, or refused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.cards.adapters.rulebooks import BOOKS
from services.cards.service.common import SOURCE
from services.cards.service.resolution import merchant_error, open_for
from shared.contracts import EnrolmentRefused, EnrolmentRequested
from shared.events import Event, new_event


async def on_enrolments(
    conn: asyncpg.Connection, events: list[Event[EnrolmentRequested]]
) -> Sequence[Event[Any]]:
    out: list[Event[Any]] = []
    snap = await BOOKS.current(conn)
    valid = []
    for e in events:
        err = merchant_error(snap, e.data.merchant_id, e.data.association_id)
        if err:
            out.append(
                new_event(
                    SOURCE,
                    EnrolmentRefused(
                        enrolment_id=e.data.enrolment_id, reason=err[0], detail=err[1]
                    ),
                    cause=e,
                )
            )
        else:
            valid.append(e)
    existing, opened = await open_for(
        conn,
        [
            (
                e.data.association_id,
                e.data.phone,
                e.data.merchant_id,
                e.data.enrolment_id,
                e.data.email,
                e.data.first_name,
                e.data.last_name,
            )
            for e in valid
        ],
        {e.data.enrolment_id: e for e in valid},
        out,
    )
    for e in valid:
        account = existing[(e.data.association_id, e.data.phone)]
        if account not in opened:
            out.append(
                new_event(
                    SOURCE,
                    EnrolmentRefused(
                        enrolment_id=e.data.enrolment_id,
                        reason="already_enrolled",
                        detail="this phone number already has an account in the association",
                        account_id=account,
                    ),
                    cause=e,
                )
            )
    return out
