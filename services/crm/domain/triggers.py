"""The triggers (F23, F24), pure: which customer a trigger reaches on which day, the id of
each message it asks for, and the frequency cap.

A trigger is configured per association (the network's scope: its marketing needs the
network's consent) or per merchant (that merchant's consent). The daily kinds are run once
per day by ``service.daily``; the others follow a booked sale. Each message's id is derived
from (trigger, person, day) or (trigger, sale): a run done again asks for the same messages,
which notifications sends once."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID

from shared.clock import PARIS

Kind = Literal["receipt", "birthday", "we_miss_you", "spacing_out", "threshold_reached"]
DAILY: tuple[Kind, ...] = ("birthday", "we_miss_you", "spacing_out")
# The template each kind asks notifications for (ISSUE13's names).
TEMPLATES: dict[Kind, str] = {
    "receipt": "receipt",
    "birthday": "birthday_offer",
    "we_miss_you": "we_miss_you",
    "spacing_out": "we_miss_you",
    "threshold_reached": "threshold_reached",
}
Celebrated = Literal["customer", "spouse", "child"]

# The namespace of the ids crm derives for its messages (fixed: the ids must not change).
NAMESPACE = UUID("6c7d6f0a-3b1e-5c55-9a39-0c6b1f2f4e13")


def job(trigger_id: UUID) -> str:
    """The trigger's name in ``daily_runs``."""
    return f"trigger:{trigger_id}"


def message_id(trigger_id: UUID, account_id: UUID, day: date) -> UUID:
    """The one message a daily trigger asks for a person on a day."""
    return uuid.uuid5(NAMESPACE, f"{trigger_id}/{account_id}/{day.isoformat()}")


def sale_message_id(trigger_id: UUID, sale_id: UUID) -> UUID:
    """The one message a trigger asks for after a sale (a receipt, the threshold reached)."""
    return uuid.uuid5(NAMESPACE, f"{trigger_id}/sale/{sale_id}")


def voucher_batch_id(trigger_id: UUID, account_id: UUID, day: date) -> UUID:
    """The birthday voucher's batch in cards (cards answers the same batch for the same id)."""
    return uuid.uuid5(NAMESPACE, f"{trigger_id}/{account_id}/{day.isoformat()}/voucher")


def rate_promotion_id(trigger_id: UUID, account_id: UUID, day: date) -> UUID:
    """The birthday's double rate, a personal promotion in cards (the same for the same id)."""
    return uuid.uuid5(NAMESPACE, f"{trigger_id}/{account_id}/{day.isoformat()}/rate")


# The days a birthday's rate multiplied lasts, unless the trigger says (the birthday first).
RATE_DAYS = 7


def offer_days(params: Mapping[str, Any]) -> int:
    """How long a birthday's offer lasts: the voucher's validity, or the days of the rate
    multiplied (a birthday caught up after its offer would have ended is not sent)."""
    if params.get("rate_multiplier"):
        return int(params.get("rate_days", RATE_DAYS))
    return int(params.get("voucher_days", 30))


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), PARIS)


def celebrated_on(day: date) -> list[tuple[int, int]]:
    """The (month, day) of the birthdays celebrated on ``day``: a 29 February is celebrated on
    the 28th in a year without one."""
    dates = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        dates.append((2, 29))
    return dates


def whose_birthday(
    day: date, birth_date: date | None, spouse: date | None, children: list[date]
) -> list[Celebrated]:
    """Who of the family has a birthday on ``day``."""
    on = set(celebrated_on(day))
    who: list[Celebrated] = []
    if birth_date is not None and (birth_date.month, birth_date.day) in on:
        who.append("customer")
    if spouse is not None and (spouse.month, spouse.day) in on:
        who.append("spouse")
    who.extend("child" for c in children if (c.month, c.day) in on)
    return who


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day when it has fewer days)."""
    m = day.year * 12 + day.month - 1 - months
    year, month = divmod(m, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def absent_window(day: date, months: int) -> tuple[datetime, datetime]:
    """The last visits that make a customer "not seen for ``months`` months" on ``day``:
    those of the day ``months`` before (one day each, so each absence is told once)."""
    since = months_before(day, months)
    return start_of(since), start_of(since + timedelta(days=1))


def spacing_out_on(
    day: date, visits: int, first_at: datetime | None, last_at: datetime | None, factor: int
) -> bool:
    """Visits spacing out: a regular customer (three visits at least) not seen for ``factor``
    times their usual interval, told on the day it is passed."""
    if visits < 3 or first_at is None or last_at is None:
        return False
    usual = (last_at - first_at) / (visits - 1)
    if usual <= timedelta(0):
        return False
    due = (last_at + usual * factor).astimezone(PARIS).date()
    return due == day


def capped(sent_in_window: int, max_messages: int | None) -> bool:
    """The frequency cap: no more than ``max_messages`` marketing messages per person in the
    window (None: no cap)."""
    return max_messages is not None and sent_in_window >= max_messages
