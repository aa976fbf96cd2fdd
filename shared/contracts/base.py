"""The pieces every contract uses: money, the instants terminals send, where a till event
happened."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    model_validator,
)

from shared.events import EventData
from shared.fields import as_utc

Cents = int
MAX_SALE_CENTS = 10_000_000  # 100,000 €: above this a till has surely mistyped
MAX_QUANTITY = 10_000
Purse = Literal["cagnotte", "stored_value"]

# A time a terminal sends: an RFC 3339 string with its offset (issue 11, finding 12). A
# number, a bare date, digits (which pydantic would read as a Unix time) or a time without
# offset are refused: the same instant must be one line whatever the terminal's zone.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value  # built in Python: the type (aware) is checked after
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(
            "a time is an RFC 3339 string with an offset, e.g. 2026-12-05T14:03:00+01:00"
        )
    # Parsed here: pydantic's strict mode (terminal input) takes no string for a datetime
    # once a validator stands before it. Upper case: RFC 3339 allows "t" and "z".
    return datetime.fromisoformat(value.upper())


# Normalised to UTC (shared.fields.as_utc): an instant a consumer cannot convert is refused
# where it enters, not in the consumer (issue 11, finding 4).
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(as_utc)]


class AtTerminal(EventData):
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    terminal_id: UUID
    occurred_at: datetime

    def origin(self) -> dict[str, Any]:
        """Where and when it happened, to carry over to the events it causes."""
        return {f: getattr(self, f) for f in ORIGIN}


ORIGIN = ("association_id", "merchant_id", "shop_id", "terminal_id", "occurred_at")


class Holder(AtTerminal):
    """The customer is named by a phone number or an e-mail address (a cardless account) or
    by a card number: exactly one of the three."""

    phone: str | None = None
    card_number: str | None = None
    # A cardless account enrolled by e-mail (lower-cased, shared.rules.email).
    email: str | None = Field(default=None, max_length=254)

    @model_validator(mode="after")
    def _one_identifier(self) -> Holder:
        given = [v for v in (self.phone, self.email, self.card_number) if v is not None]
        if len(given) != 1:
            raise ValueError("give the customer's phone, e-mail or card number, exactly one")
        return self
